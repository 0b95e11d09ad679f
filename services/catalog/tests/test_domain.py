"""Catalog rules on their own (no database)."""

from pos_catalog.domain import barcode_problem, index_terms, prefix_bounds, query_words, words


def test_gs1_check_digits() -> None:
    assert barcode_problem("4006381333931") is None  # EAN-13
    assert barcode_problem("036000291452") is None  # UPC-A
    assert barcode_problem("96385074") is None  # EAN-8
    assert "check digit (digit 13) is 2, expected 1" in (barcode_problem("4006381333932") or "")
    assert "has 5 digits" in (barcode_problem("12345") or "")
    assert "digits only" in (barcode_problem("12345678901a") or "")


def test_words_fold_case_and_accents_and_split_on_punctuation() -> None:
    assert words("Crème Brûlée, 2 x 125g") == ["creme", "brulee", "2", "x", "125g"]
    assert words("ÉCLAIR_au-CAFÉ") == ["eclair", "au", "cafe"]
    assert index_terms("Green tea", "TEA-1", ["5901234123457"]) == {"green", "tea", "1", "5901234123457"}


def test_prefix_bounds_are_an_exact_range() -> None:
    low, high = prefix_bounds("cup")
    assert (low, high) == ("cup", "cuq")
    assert all(low <= w < high for w in ("cup", "cupboard", "cupz"))
    assert not any(low <= w < high for w in ("cuo", "cuq", "cu"))


def test_query_words_longest_first_without_repeats() -> None:
    assert query_words("esp cup ESP") == ["esp", "cup"]
    assert query_words("a tea pot") == ["tea", "pot", "a"]
