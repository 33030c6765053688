"""A token's label: one line admins read in a list, typed as Chinese is typed."""

import pytest

from suggestions.auth import label_problem


@pytest.mark.parametrize("label", ["话务员\u3000王芳", "网格员\u00a0李强的手机", "坐席 3"])
def test_a_label_typed_with_a_wide_or_pasted_space_is_kept(label: str) -> None:
    """A Chinese input method types a full-width space (U+3000); a name copied from a web page brings a no-break one."""
    assert label_problem(label) is None


@pytest.mark.parametrize("label", ["desk 1\nrole: admin", "a\u2028b", "a\u2029b", "\x1b[31m", "a\u202eb", "x" * 101])
def test_a_label_of_more_than_one_line_or_with_control_characters_is_refused(label: str) -> None:
    assert label_problem(label) is not None
