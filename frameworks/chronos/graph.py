"""The dependency graph of Chronos' dependent jobs (pure): checks, the ready rule, dot and csv text.

Edges run parent -> child. A dependent job runs once every parent has succeeded since its own last
run; a parent's failure triggers nothing. ``/scheduler/graph/dot`` is the text jgrapht's DOTExporter
writes for Chronos (vertices numbered from 1 with the job name as label, no colours);
``/scheduler/graph/csv`` is Chronos' Exporter: ``node,<name>,<last state>,<state>`` lines
(last state ``success``/``failure``/``fresh``, state ``idle``/``queued``/``running``/``N running``)
then ``link,<parent>,<child>`` lines.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, MutableMapping, Sequence
from datetime import datetime

__all__ = ["DependencyGraph", "GraphError", "last_state"]


class GraphError(ValueError):
    """A dependent job's parents that cannot be accepted; ``str(e)`` names the field and the value."""

    def __init__(self, value: str, reason: str, field: str = "parents") -> None:
        super().__init__(f"{field}: {reason}: {value!r}")
        self.field = field
        self.value = value
        self.reason = reason


def last_state(last_success: str, last_error: str) -> str:
    """Chronos' ``Exporter.getLastState`` from a job's ``lastSuccess``/``lastError`` texts."""
    if not last_success and not last_error:
        return "fresh"
    if not last_success:
        return "failure"
    if not last_error:
        return "success"
    success, error = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in (last_success, last_error))
    return "success" if success > error else "failure"


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


class DependencyGraph:
    """Child -> parents, kept acyclic; every method is pure bookkeeping on this object."""

    def __init__(self, edges: Mapping[str, Sequence[str]] | None = None) -> None:
        self._parents: dict[str, list[str]] = {}
        self._children: dict[str, list[str]] = {}
        for child, parents in (edges or {}).items():
            self.set_parents(child, parents)

    def parents(self, job: str) -> list[str]:
        return list(self._parents.get(job, ()))

    def children(self, job: str) -> list[str]:
        return list(self._children.get(job, ()))

    def jobs(self) -> list[str]:
        """Every job the graph knows, children and parents, in the order they first appeared."""
        return _unique(name for child, parents in self._parents.items() for name in (*parents, child))

    def _path_up(self, start: str, goal: str) -> list[str] | None:
        """Parents-first path ``goal .. start`` when ``goal`` is an ancestor of (or is) ``start``."""
        seen: set[str] = set()
        stack: list[tuple[str, list[str]]] = [(start, [start])]
        while stack:
            job, path = stack.pop()
            if job == goal:
                return path[::-1]
            if job in seen:
                continue
            seen.add(job)
            stack.extend((p, [*path, p]) for p in self._parents.get(job, ()))
        return None

    def _check_cycles(self, child: str, parents: Sequence[str]) -> None:
        for parent in parents:
            path = self._path_up(parent, child)
            if path is not None:
                raise GraphError(parent, "dependency cycle " + " -> ".join([*path, child]))

    def check(self, child: str, parents: Sequence[str], known: Collection[str]) -> None:
        """Would ``child`` with these ``parents`` be accepted? ``known`` is every existing job's name.

        Raises GraphError (field ``parents``) naming the unknown parent, or the parent that closes a
        cycle, with the cycle; also for an empty list (a dependent job needs a parent).
        """
        if isinstance(parents, str) or not all(isinstance(p, str) for p in parents):
            raise GraphError(repr(parents), "must be a list of job names")
        if not parents:
            raise GraphError("[]", "a dependent job needs at least one parent")
        for parent in parents:
            if parent != child and parent not in known:
                raise GraphError(parent, "unknown job")
        self._check_cycles(child, parents)

    def set_parents(self, child: str, parents: Sequence[str]) -> None:
        """Replace ``child``'s parents (an empty list makes it a job without parents).

        Raises GraphError on a cycle; unknown names are the caller's to refuse (see :meth:`check`).
        """
        wanted = _unique(parents)
        self._check_cycles(child, wanted)
        for old in self._parents.pop(child, []):
            self._children[old].remove(child)
            if not self._children[old]:
                del self._children[old]
        if wanted:
            self._parents[child] = wanted
            for parent in wanted:
                self._children.setdefault(parent, []).append(child)

    def remove(self, job: str) -> dict[str, list[str]]:
        """Forget ``job``. Its children take its parents in its place, as Chronos does on delete;
        returns each child's new parent list (an empty list: the child has no parent left, and Chronos
        turns it into a scheduled job with the deleted parent's schedule)."""
        inherited = self._parents.get(job, [])
        changed: dict[str, list[str]] = {}
        for child in self.children(job):
            changed[child] = _unique([p for p in self._parents[child] if p != job] + inherited)
        self.set_parents(job, [])
        for child, parents in changed.items():
            self.set_parents(child, parents)
        return changed

    def ready(self, child: str, succeeded_since_last_run: Collection[str]) -> bool:
        """True when ``child`` has parents and every one succeeded since ``child`` last ran."""
        parents = self._parents.get(child, [])
        return bool(parents) and all(p in succeeded_since_last_run for p in parents)

    def record_success(self, parent: str, since: MutableMapping[str, set[str]]) -> list[str]:
        """Note ``parent``'s success in ``since`` (child -> parents succeeded since the child's last
        run) and return the children that are now ready. The caller clears ``since[child]`` when the
        child runs; entries exist only for children of this graph."""
        ready = []
        for child in self._children.get(parent, ()):
            seen = since.setdefault(child, set())
            seen.add(parent)
            seen.intersection_update(self._parents[child])
            if self.ready(child, seen):
                ready.append(child)
        return ready

    def _vertices(self, jobs: Iterable[str]) -> list[str]:
        return _unique([*jobs, *self.jobs()])

    def dot(self, status: Mapping[str, str]) -> str:
        """Chronos' ``/scheduler/graph/dot`` text. ``status`` (job -> last state) lists every job, so
        jobs without dependencies appear too; Chronos' dot carries no state, so neither does ours."""
        vertices = self._vertices(status)
        number = {name: i for i, name in enumerate(vertices, 1)}
        lines = ["digraph G {"]
        for name in vertices:
            label = name.replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'  {number[name]} [ label="{label}" ];')
        for child in vertices:
            for parent in self._parents.get(child, ()):
                lines.append(f"  {number[parent]} -> {number[child]};")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def csv(self, status: Mapping[str, str], state: Mapping[str, str] | None = None) -> str:
        """Chronos' ``/scheduler/graph/csv`` text: ``status`` is job -> last state (see
        :func:`last_state`, default ``fresh``), ``state`` job -> current state (default ``idle``)."""
        state = state or {}
        vertices = self._vertices(status)
        lines = [f"node,{name},{status.get(name, 'fresh')},{state.get(name, 'idle')}\n" for name in vertices]
        lines += [f"link,{parent},{child}\n" for child in vertices for parent in self._parents.get(child, ())]
        return "".join(lines)
