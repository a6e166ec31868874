"""Start rules: the relevance vector at the output, i.e. what an explanation is an explanation *of*.

Propagation is linear in the start vector, so every rule here is a choice of that vector over the classes
(rows × classes), made from the logits z of the explained image and its target class t:

=================  ======================================================  ==================================
``logit``          z_t at t (Eq. 2 of the paper; the default)              the evidence for t
``onehot``         1 at t                                                  the same map, scaled by 1 / z_t
``contrastive:b``  z_t at t and −z_b at b                                  why t rather than b
``sglrp``          ∂p_t/∂z_n = p_t(δ_tn − p_n) at every n                  SGLRP (Iwana et al. 2019)
``clrp``           two passes: z_t at t, and the dual (below)              CLRP (Gu et al. 2018)
=================  ======================================================  ==================================

CLRP is not one start vector: it explains the target and a *dual virtual class* (every other class) from the
same score, then keeps max(0, R − R_dual) at the input. Its dual start spreads z_t over the other classes in
proportion to |z_n|, as the authors' code seeds it (docs/start-rules.md has the definition and the choices).

A rule is a :class:`StartRule` (parse one from its text with :func:`parse_start`); ``START_RULES`` maps each
kind to the function that builds its start rows, and :meth:`StartRule.finish` merges CLRP's two passes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal, get_args

import torch

from .result import Explanation, LayerFlow, LayerNote

StartKind = Literal["logit", "onehot", "contrastive", "sglrp", "clrp"]
START_KINDS: tuple[str, ...] = get_args(StartKind)
START_ARGUMENT: dict[str, str] = {"contrastive": "B"}
"""The kinds written with a class index after a colon (``contrastive:281``), and the index's placeholder in help."""
START_DESCRIPTIONS: dict[str, str] = {
    "logit": "the target's score, default",
    "onehot": "1",
    "contrastive": "target minus class B",
    "sglrp": "softmax gradient, Iwana et al. 2019",
    "clrp": "contrastive LRP, Gu et al. 2018",
}
"""What each kind explains, in a few words (help texts, the designer's picker); one entry per kind of START_KINDS."""


def start_spelling(kind: str) -> str:
    """How a kind is written, with its argument's placeholder: ``contrastive:B``, ``sglrp``."""
    arg = START_ARGUMENT.get(kind)
    return f"{kind}:{arg}" if arg else kind


START_HELP = ", ".join(f"{start_spelling(k)} ({START_DESCRIPTIONS[k]})" for k in START_KINDS)
"""One line for option help texts."""
START_PATTERN = "^(?:" + "|".join(f"{k}:(?:0|[1-9][0-9]*)" if k in START_ARGUMENT else k for k in START_KINDS) + ")$"
"""A regular expression every start rule's canonical text (``str(StartRule)``) matches: the HTTP API's pattern."""


class StartRuleError(ValueError):
    """A start rule that does not parse, or names a class the network does not have."""


@dataclass(frozen=True)
class StartRule:
    """One start rule: its kind, and for ``contrastive`` the class it is contrasted with."""

    kind: StartKind = "logit"
    other: int | None = None
    """``contrastive``'s class b (None for every other kind)."""

    def __post_init__(self) -> None:
        if self.kind not in START_KINDS:
            raise StartRuleError(f"unknown start rule {self.kind!r}; choose from {', '.join(START_KINDS)}")
        if (self.kind == "contrastive") != (self.other is not None):
            raise StartRuleError("contrastive needs the class to contrast with (contrastive:B), and only it takes one")
        if self.other is not None and self.other < 0:
            raise StartRuleError(f"contrastive: class {self.other} is negative")

    def __str__(self) -> str:
        return f"{self.kind}:{self.other}" if self.kind == "contrastive" else self.kind

    @property
    def passes(self) -> int:
        """How many propagations one row takes: 2 for CLRP (target and dual), else 1."""
        return 2 if self.kind == "clrp" else 1

    def check(self, n_classes: int) -> None:
        """Refuse a contrast class the network does not have (the engine calls this before propagating)."""
        if self.other is not None and not 0 <= self.other < n_classes:
            raise StartRuleError(f"contrastive: class {self.other} is out of range (0..{n_classes - 1})")

    def initial(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The start rows: (passes × rows, classes) from each row's logits (rows, classes) and target (rows,).

        With two passes the first ``rows`` rows start the target's propagation and the next ``rows`` the dual's.
        """
        self.check(logits.shape[1])
        return START_RULES[self.kind](self, logits, targets)

    def finish(self, ex: Explanation, rows: int) -> Explanation:
        """The explanation of ``rows`` rows from the propagation of the start rows (identity for one pass)."""
        return _clrp_merge(ex, rows) if self.passes == 2 else ex


def parse_start(spec: str | StartRule | None, n_classes: int | None = None) -> StartRule:
    """A start rule from its text: ``logit``, ``onehot``, ``contrastive:281``, ``sglrp`` or ``clrp``.

    None is the default (``logit``). With ``n_classes`` the contrast class is checked against the network.
    """
    if spec is None:
        rule = StartRule()
    elif isinstance(spec, StartRule):
        rule = spec
    else:
        text = str(spec).strip().lower()
        name, sep, arg = text.partition(":")
        if name not in START_KINDS:
            raise StartRuleError(f"unknown start rule {spec!r}; choose from logit, onehot, contrastive:B, sglrp, clrp")
        if name == "contrastive":
            if not sep or not arg.strip():
                raise StartRuleError("contrastive needs the class to contrast with, e.g. contrastive:281")
            try:
                other = int(arg)
            except ValueError:
                raise StartRuleError(f"contrastive: {arg!r} is not a class index") from None
            rule = StartRule("contrastive", other)
        elif sep:
            raise StartRuleError(f"start rule {name!r} takes no argument (got {spec!r})")
        else:
            rule = StartRule(name)  # type: ignore[arg-type]  # name checked against START_RULES above
    if n_classes is not None:
        rule.check(n_classes)
    return rule


# ---------------------------------------------------------------------- the start vectors
StartFn = Callable[[StartRule, torch.Tensor, torch.Tensor], torch.Tensor]
"""(rule, logits (rows, classes), targets (rows,)) → start rows (passes × rows, classes)."""


def _at_target(logits: torch.Tensor, targets: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    start = torch.zeros_like(logits)
    start[torch.arange(len(targets), device=logits.device), targets] = values
    return start


def _target_logits(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return logits[torch.arange(len(targets), device=logits.device), targets]


def _logit(rule: StartRule, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return _at_target(logits, targets, _target_logits(logits, targets))


def _onehot(rule: StartRule, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return _at_target(logits, targets, torch.ones(len(targets), dtype=logits.dtype, device=logits.device))


def _contrastive(rule: StartRule, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """z_t at t minus z_b at b (accumulated, so b = t starts from z_t − z_t = 0: the map of a zero difference)."""
    assert rule.other is not None
    start = _logit(rule, logits, targets)
    start[:, rule.other] -= logits[:, rule.other]
    return start


def _sglrp(rule: StartRule, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The softmax gradient ∂p_t/∂z = p_t(e_t − p), computed in float64 (p_t·p_n underflows early in float32)."""
    p = torch.softmax(logits.double(), dim=1)
    p_t = p[torch.arange(len(targets), device=p.device), targets].unsqueeze(1)
    grad = -p_t * p
    grad[torch.arange(len(targets), device=p.device), targets] += p_t.squeeze(1)
    return grad.to(logits.dtype)


def _clrp(rule: StartRule, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Target rows (z_t at t) stacked on dual rows: z_t spread over the other classes in proportion to |z_n|.

    Both start from the same total z_t, as the paper's R_dual = f_LRP(X, W̄, S_t) asks; the weights |z_n| are the
    authors' code's seed of the dual (a uniform spread is the other reading; docs/start-rules.md).
    """
    z_t = _target_logits(logits, targets)
    weights = logits.abs()
    weights[torch.arange(len(targets), device=logits.device), targets] = 0
    share = weights / weights.sum(1, keepdim=True).clamp(min=torch.finfo(logits.dtype).tiny)  # 0 if all are 0
    return torch.cat([_logit(rule, logits, targets), share * z_t.unsqueeze(1)])


START_RULES: dict[StartKind, StartFn] = {
    "logit": _logit,
    "onehot": _onehot,
    "contrastive": _contrastive,
    "sglrp": _sglrp,
    "clrp": _clrp,
}
"""Each kind's start rows, built from the logits."""


# ---------------------------------------------------------------------- CLRP's two passes
def _clrp_merge(ex: Explanation, n: int) -> Explanation:
    """R − R_dual at every layer, max(0, R − R_dual) at the input (the paper's CLRP), from 2n propagated rows.

    The layer maps and the accounting are the unclamped difference (linear, so the bookkeeping still adds up);
    only the input map is clamped. Notes of the dual pass are kept, marked as such.
    """

    def diff(t: torch.Tensor | None) -> torch.Tensor | None:
        return None if t is None else t[:n] - t[n:]

    def pair(t: torch.Tensor) -> torch.Tensor:
        return t[:n] - t[n:]

    flow = [None if f is None else LayerFlow(pair(f.incoming), pair(f.outgoing), diff(f.bias), diff(f.rule),
                                             diff(f.in_flight))
            for f in ex.flow]
    notes = [note if note.row < n else LayerNote(note.layer, note.row - n, f"{note.message} (CLRP's dual pass)")
             for note in ex.notes]
    return replace(ex, rows=ex.rows[:n], input_relevance=pair(ex.input_relevance).clamp(min=0),
                   layer_relevance=[diff(r) for r in ex.layer_relevance], start_relevance=pair(ex.start_relevance),
                   flow=flow, notes=notes)
