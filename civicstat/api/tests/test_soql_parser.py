"""SoQL reads as Socrata's own parser reads it: the same precedence, literals and clauses, and an
error names the character where reading stopped."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from civicstat.api.soda.parser import (
    Call,
    Column,
    Literal,
    SoqlError,
    parse_expression,
    parse_order,
    parse_query,
    parse_select,
)


def col(name: str) -> Column:
    return Column(name)


def num(n: int | str) -> Literal:
    return Literal(Decimal(n), "number")


def test_and_binds_tighter_than_or_and_not_tighter_than_and():
    tree = parse_expression("a = 1 OR NOT b = 2 AND c = 3")
    assert tree == Call("or", (Call("=", (col("a"), num(1))),
                               Call("and", (Call("not", (Call("=", (col("b"), num(2))),)),
                                            Call("=", (col("c"), num(3)))))))  # fmt: skip


def test_arithmetic_binds_tighter_than_comparison_and_products_than_sums():
    assert parse_expression("a + 2 * b > 3") == Call(">", (
        Call("+", (col("a"), Call("*", (num(2), col("b"))))), num(3)))  # fmt: skip


def test_between_takes_its_and_before_the_boolean_and():
    tree = parse_expression("x BETWEEN 1 AND 5 AND y IS NOT NULL")
    assert tree == Call("and", (Call("between", (col("x"), num(1), num(5))),
                                Call("is not null", (col("y"),))))  # fmt: skip


def test_negated_forms_read_as_not_of_the_form():
    assert parse_expression("a NOT IN ('x', 'y')") == Call(
        "not", (Call("in", (col("a"), Literal("x", "text"), Literal("y", "text"))),)
    )
    assert parse_expression("a not like 'x%'") == Call("not", (Call("like", (
        col("a"), Literal("x%", "text"))),))  # fmt: skip


def test_keywords_are_any_case_and_words_that_start_with_them_are_columns():
    assert parse_expression("android AND Order_id is null") == Call("and", (
        col("android"), Call("is null", (col("order_id"),))))  # fmt: skip


def test_strings_double_their_quotes_and_identifiers_may_be_backticked_or_system():
    assert parse_expression("`street-name` = 'O''Hare'") == Call("=", (
        col("street-name"), Literal("O'Hare", "text")))  # fmt: skip
    assert parse_expression(":id > 10") == Call(">", (col(":id"), num(10)))


def test_count_star_and_a_negative_number():
    assert parse_expression("count(*)").name == "count"
    assert parse_expression("-2.5") == Literal(Decimal("-2.5"), "number")


def test_a_whole_query_reads_every_clause_in_socratas_order():
    q = parse_query(
        "SELECT department, count(*) AS n WHERE status = 'open' GROUP BY department "
        "HAVING n > 2 ORDER BY n DESC NULL LAST SEARCH 'pothole' LIMIT 5 OFFSET 10"
    )
    assert [s.alias for s in q.select] == [None, "n"]
    assert q.group == [col("department")]
    assert q.order[0].descending and q.order[0].nulls_first is False
    assert (q.search, q.limit, q.offset) == ("pothole", 5, 10)


def test_select_lists_and_orderings():
    assert [s.alias for s in parse_select("*, a AS b")] == [None, "b"]
    assert [(o.expr, o.descending) for o in parse_order("a desc, b")] == [
        (col("a"), True), (col("b"), False)]  # fmt: skip


@pytest.mark.parametrize(("text", "character"), [
    ("a = ", 5), ("a == == b", 6), ("count(*", 8), ("a = 'unclosed", 5), ("a ! b", 3),
])  # fmt: skip
def test_a_syntax_error_names_the_character_where_reading_stopped(text, character):
    with pytest.raises(SoqlError, match=f"at line 1 character {character}$"):
        parse_expression(text)


def test_absurd_nesting_and_length_are_refused_with_a_reason():
    with pytest.raises(SoqlError, match="nests"):
        parse_expression("(" * 500 + "1" + ")" * 500)
    with pytest.raises(SoqlError, match="longer than"):
        parse_expression("a = '" + "x" * 20_000 + "'")


SOQL_BITS = st.sampled_from([
    "a", "b", ":id", "`x-y`", "'t'", "'it''s'", "1", "2.5", "-3", "1e400", "null", "true", "(",
    ")", ",", "*", "=", "!=", "<>", "<", ">=", "+", "-", "/", "%", "||", "and", "or", "not", "is",
    "in", "like", "between", "count", "sum(", "case(", "select", "where", "group by", "order by",
    "limit", "'", '"', "`", "\n", "\\", ";", "--", "$", "é", "\u202e",
])  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(SOQL_BITS, max_size=14).map(" ".join) | st.text(max_size=40))
def test_any_text_parses_or_raises_a_soql_error(text):
    """No input makes the parser fail any other way (the view answers SoqlError with a 400)."""
    for parse in (parse_expression, parse_select, parse_order, parse_query):
        with contextlib.suppress(SoqlError):
            parse(text)
