"""An isolator made of several: e.g. cgroups for memory plus posix for cpu."""

from __future__ import annotations

import dataclasses

from isolation.base import Entry, Isolator, Limitation, LimitationCallback, Limits, Usage
from isolation.errors import IsolationError

__all__ = ["CompositeIsolator"]


class CompositeIsolator(Isolator):
    """Runs every step through each part in order; ``usage`` takes the cpu
    fields (``cpus_*``) from the part that owns "cpu", the memory fields
    (``mem_*``) from the part that owns "mem", the disk fields (``disk_*``)
    from the part that owns "disk"; the rest from the first part."""

    def __init__(self, parts: list[tuple[Isolator, frozenset[str]]]) -> None:
        if not parts:
            raise IsolationError("a composite isolator needs at least one part")
        self.parts = [isolator for isolator, _ in parts]
        self._owner: dict[str, Isolator] = {}
        for isolator, resources in parts:
            for resource in resources:
                self._owner.setdefault(resource, isolator)
        self.name = "+".join(isolator.name for isolator in self.parts)

    def prepare(self, container_id: str, limits: Limits, sandbox: str | None = None) -> None:
        done: list[Isolator] = []
        try:
            for isolator in self.parts:
                isolator.prepare(container_id, limits, sandbox)
                done.append(isolator)
        except BaseException:
            for isolator in reversed(done):
                isolator.cleanup(container_id)
            raise

    def wrap(self, container_id: str, argv: list[str]) -> list[str]:
        for isolator in reversed(self.parts):
            argv = isolator.wrap(container_id, argv)
        return argv

    def entry(self, container_id: str) -> Entry | None:
        """The parts' entries joined; None when any part can only be entered by ``wrap``."""
        total = Entry()
        for isolator in self.parts:
            part = isolator.entry(container_id)
            if part is None:
                return None
            total += part
        return total

    def isolate(self, container_id: str, pid: int) -> None:
        for isolator in self.parts:
            isolator.isolate(container_id, pid)

    def update(self, container_id: str, limits: Limits) -> None:
        for isolator in self.parts:
            isolator.update(container_id, limits)

    def usage(self, container_id: str) -> Usage:
        usages = {id(isolator): isolator.usage(container_id) for isolator in self.parts}
        merged = usages[id(self.parts[0])]
        for prefix, resource in (("cpus_", "cpu"), ("mem_", "mem"), ("disk_", "disk")):
            owner = self._owner.get(resource)
            if owner is None:
                continue
            source = usages[id(owner)]
            changes = {f.name: getattr(source, f.name) for f in dataclasses.fields(Usage) if f.name.startswith(prefix)}
            merged = dataclasses.replace(merged, **changes)
        return merged

    def limitation(self, container_id: str) -> Limitation | None:
        for isolator in self.parts:
            found = isolator.limitation(container_id)
            if found is not None:
                return found
        return None

    def watch(self, container_id: str, callback: LimitationCallback) -> None:
        for isolator in self.parts:
            isolator.watch(container_id, callback)

    def cleanup(self, container_id: str) -> None:
        errors: list[str] = []
        for isolator in self.parts:
            try:
                isolator.cleanup(container_id)
            except IsolationError as exc:
                errors.append(str(exc))
        if errors:
            raise IsolationError("; ".join(errors))

    def adopt(self, container_id: str, limits: Limits, sandbox: str | None, pid: int) -> None:
        for isolator in self.parts:
            isolator.adopt(container_id, limits, sandbox, pid)

    def recover(self, known: set[str]) -> list[str]:
        orphans: set[str] = set()
        for isolator in self.parts:
            orphans.update(isolator.recover(known))
        return sorted(orphans)

    def close(self) -> None:
        for isolator in self.parts:
            isolator.close()
