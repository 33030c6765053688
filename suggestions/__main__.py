from suggestions.cli import main

main()
