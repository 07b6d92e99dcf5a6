"""gpuxla.ad_checkpoint: `checkpoint` and its policies, as `jax.ad_checkpoint`.

gpuxla's checkpoint recomputes everything inside the checkpointed function in the backward pass,
whatever the policy: a policy decides only what is kept in memory, never the values, so every
JAX policy is accepted and gradients are the same.
"""
from .transforms.custom import checkpoint, remat

__all__ = ["checkpoint", "checkpoint_name", "checkpoint_policies", "remat"]


def checkpoint_name(x, name):
    """Tags `x` for the name-based policies; the value is `x` itself."""
    return x


class checkpoint_policies:
    """JAX's policy names. Each is a policy function `(prim, *avals, **params) -> bool` (True: save
    the value); gpuxla's checkpoint recomputes regardless (see the module docstring)."""
    everything_saveable = staticmethod(lambda *_, **__: True)
    nothing_saveable = staticmethod(lambda *_, **__: False)
    dots_saveable = staticmethod(lambda prim, *_, **__: getattr(prim, "name", "") == "dot_general")
    checkpoint_dots = dots_saveable
    dots_with_no_batch_dims_saveable = dots_saveable
    checkpoint_dots_with_no_batch_dims = dots_saveable

    @staticmethod
    def save_only_these_names(*names):
        return lambda *_, **__: False

    @staticmethod
    def save_any_names_but_these(*names):
        return lambda *_, **__: False

    save_anything_except_these_names = save_any_names_but_these

    @staticmethod
    def save_from_both_policies(policy_1, policy_2):
        return lambda *a, **k: policy_1(*a, **k) or policy_2(*a, **k)
