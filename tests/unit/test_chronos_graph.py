"""frameworks/chronos/graph.py: dependent jobs' DAG, its checks, the ready rule, Chronos' dot and csv."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frameworks.chronos.graph import DependencyGraph, GraphError, last_state


def chain() -> DependencyGraph:
    return DependencyGraph({"b": ["a"], "c": ["b"]})


def test_parents_and_children() -> None:
    g = DependencyGraph({"report": ["extract", "load", "extract"]})
    assert g.parents("report") == ["extract", "load"]
    assert g.children("extract") == ["report"] and g.children("report") == []
    g.set_parents("report", ["load"])
    assert g.children("extract") == [] and g.parents("report") == ["load"]


def test_unknown_parent_is_named() -> None:
    with pytest.raises(GraphError) as err:
        chain().check("d", ["c", "ghost"], known={"a", "b", "c"})
    assert err.value.field == "parents" and err.value.value == "ghost"
    assert str(err.value) == "parents: unknown job: 'ghost'"


def test_cycles_are_refused_with_the_cycle() -> None:
    g = chain()
    with pytest.raises(GraphError) as err:
        g.check("a", ["c"], known={"a", "b", "c"})
    assert err.value.value == "c" and "a -> b -> c -> a" in str(err.value)
    with pytest.raises(GraphError, match="dependency cycle d -> d"):
        g.check("d", ["d"], known={"a", "b", "c"})
    with pytest.raises(GraphError, match="cycle"):
        g.set_parents("a", ["c"])
    assert g.parents("a") == []  # unchanged
    g.check("c", ["a"], known={"a", "b", "c"})  # replacing c's parents with a is fine


def test_bad_parent_lists() -> None:
    with pytest.raises(GraphError, match=r"^parents: a dependent job needs at least one parent"):
        chain().check("d", [], known={"a"})
    with pytest.raises(GraphError, match="list of job names"):
        chain().check("d", "a", known={"a"})


def test_ready_rule_every_parent_since_last_run() -> None:
    g = DependencyGraph({"join": ["left", "right"]})
    since: dict[str, set[str]] = {}
    assert g.record_success("left", since) == []
    assert g.record_success("left", since) == []  # twice the same parent is still one
    assert g.record_success("right", since) == ["join"]
    since["join"].clear()  # join ran
    assert not g.ready("join", since["join"])
    assert g.record_success("right", since) == []
    assert not g.ready("left", {"anything"})  # a job without parents is never dependency-triggered
    assert g.ready("join", {"left", "right", "other"})


def test_chronos_complex_graph_is_traversed_in_order() -> None:
    # Chronos' JobGraphSpec: A -> B -> D, A -> C, B -> E, C -> E; children run when triggered.
    g = DependencyGraph({"B": ["A"], "C": ["A"], "D": ["B"], "E": ["B", "C"]})
    since: dict[str, set[str]] = {}

    def done(job: str) -> set[str]:
        ready = g.record_success(job, since)
        for child in ready:
            since[child].clear()  # the child runs
        return set(ready)

    assert done("A") == {"B", "C"}
    assert done("B") == {"D"}
    assert done("C") == {"E"}
    assert done("A") == {"B", "C"}
    assert done("C") == set()
    assert done("B") == {"D", "E"}


def test_remove_reparents_children_as_chronos_does() -> None:
    g = DependencyGraph({"b": ["a"], "c": ["b", "x"]})
    assert g.remove("b") == {"c": ["x", "a"]}
    assert g.parents("c") == ["x", "a"] and g.children("a") == ["c"] and "b" not in g.jobs()
    assert g.remove("a") == {"c": ["x"]}
    assert g.remove("x") == {"c": []}
    assert g.jobs() == []


def test_dot_is_jgrapht_text() -> None:
    status = {"a": "success", "b": "failure", "c": "fresh", "lonely": "fresh"}
    assert chain().dot(status) == (
        "digraph G {\n"
        '  1 [ label="a" ];\n'
        '  2 [ label="b" ];\n'
        '  3 [ label="c" ];\n'
        '  4 [ label="lonely" ];\n'
        "  1 -> 2;\n"
        "  2 -> 3;\n"
        "}\n"
    )
    assert DependencyGraph().dot({}) == "digraph G {\n}\n"


def test_csv_is_chronos_exporter_text() -> None:
    status = {"a": "success", "b": "failure"}
    assert chain().csv(status, {"b": "1 running"}) == (
        "node,a,success,idle\n"
        "node,b,failure,1 running\n"
        "node,c,fresh,idle\n"
        "link,a,b\n"
        "link,b,c\n"
    )


def test_last_state() -> None:
    assert last_state("", "") == "fresh"
    assert last_state("2026-12-01T00:00:00.000Z", "") == "success"
    assert last_state("", "2026-12-01T00:00:00.000Z") == "failure"
    assert last_state("2026-12-01T00:00:01.000Z", "2026-12-01T00:00:00.000Z") == "success"
    assert last_state("2026-12-01T00:00:00.000Z", "2026-12-01T00:00:00.000Z") == "failure"


NAMES = [f"j{i}" for i in range(8)]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(NAMES), st.lists(st.sampled_from(NAMES), max_size=3)), max_size=20))
def test_whatever_is_accepted_stays_acyclic(updates: list[tuple[str, list[str]]]) -> None:
    g = DependencyGraph()
    for child, parents in updates:
        try:
            g.check(child, parents, known=NAMES)
        except GraphError:
            continue
        g.set_parents(child, parents)
    # a topological order exists: repeatedly take jobs whose parents are all placed
    placed: list[str] = []
    pending = set(g.jobs())
    while pending:
        free = {j for j in pending if all(p in placed for p in g.parents(j))}
        assert free, f"cycle among {pending}"
        placed += sorted(free)
        pending -= free
    for job in placed:
        assert all(job in g.children(p) for p in g.parents(job))
