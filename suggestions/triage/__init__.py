"""What centre staff see: the prioritised feed and single items."""
