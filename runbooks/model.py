"""What a runbook file says (YAML in runbooks/library/), validated when it is loaded.

A runbook is a list of steps an IT person follows in an incident, each of one kind:
- `check` / `verify`: a read-only probe (a registered operation) whose result must match `expect`;
  `verify` is the same, after the fix.
- `action`: a registered operation (backup.restore, backup.run, …) with parameters.
- `shell`: a command, on this box or over SSH (paramiko, pinned host key).
- `manual`: an instruction a person carries out and confirms.
- `approve`: a person with `role` must approve within `timeout_seconds`; `on_timeout` says what then.

Every step has a timeout, an expected duration (the RTO clock projects from it), `on_failure`
(stop, continue, or rollback: run the `rollback` steps of the steps done so far, newest first) and
says whether it runs again when an interrupted run resumes (`rerun_on_resume`, for preconditions).
Parameters are written `${name}` in any string value and filled from the run's parameters.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

KINDS = ("check", "action", "shell", "manual", "approve", "verify")
ROLES = ("staff", "manager", "admin")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RunbookParam(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    help: str = ""
    default: str | None = None
    required: bool = False
    secret: bool = False


class Ssh(Strict):
    host: str
    port: int = Field(22, ge=1, le=65535)
    user: str
    key_file: str
    host_key: str = Field(pattern=r"^(ssh-|ecdsa-)\S+ [A-Za-z0-9+/=]+")


class Step(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    kind: Literal["check", "action", "shell", "manual", "approve", "verify"]
    title: str
    phase: Literal["diagnose", "emergency", "fix", "verify", "recover"] = "fix"
    timeout_seconds: float = Field(gt=0)
    expected_seconds: float = Field(ge=0)
    on_failure: Literal["stop", "continue", "rollback"] = "stop"
    rerun_on_resume: bool = False
    safe_to_repeat: bool = True            # False: asks before repeating a step that may have run
    serves: bool = False                   # after this step the shop takes orders again: the RTO ends here
    # check, verify, action
    operation: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    expect: dict[str, Any] = Field(default_factory=dict)    # check/verify: result fields that must match
    # shell
    command: str | None = None
    ssh: Ssh | None = None
    # manual, approve
    instruction: str | None = None
    role: Literal["staff", "manager", "admin"] | None = None
    on_timeout: Literal["stop", "continue"] | None = None
    rollback: list["Step"] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fields_of_its_kind(self) -> "Step":
        needs = {"check": ("operation",), "verify": ("operation",), "action": ("operation",),
                 "shell": ("command",), "manual": ("instruction",), "approve": ("instruction", "role", "on_timeout")}
        for name in needs[self.kind]:
            if getattr(self, name) in (None, ""):
                raise ValueError(f"a {self.kind} step needs `{name}`")
        if self.kind in ("check", "verify") and not self.expect:
            raise ValueError(f"a {self.kind} step needs `expect` (what the probe must answer)")
        if self.on_failure == "rollback" and not self.rollback:
            raise ValueError("on_failure: rollback needs `rollback` steps")
        return self


class When(Strict):
    symptoms: list[str] = Field(min_length=1)
    alerts: list[str] = Field(default_factory=list)    # check names whose alerts lead here


class Runbook(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    when: When
    roles: list[Literal["staff", "manager", "admin"]] = Field(min_length=1)    # who may run it
    rto_budget_seconds: int = Field(gt=0)
    params: list[RunbookParam] = Field(default_factory=list)
    steps: list[Step] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_step_ids(self) -> "Runbook":
        seen: set[str] = set()
        for step in self.all_steps():
            if step.id in seen:
                raise ValueError(f"step id {step.id!r} is used twice")
            seen.add(step.id)
        return self

    def all_steps(self) -> list[Step]:
        out = []
        for step in self.steps:
            out.append(step)
            out += step.rollback
        return out

    def step(self, step_id: str) -> Step:
        for step in self.all_steps():
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    @property
    def least_role(self) -> str:
        return min(self.roles, key=ROLES.index)
