"""`jax.experimental.layout`: gpuxla has no custom array layouts (every array is row-major), so
`Format` and `Layout` exist for libraries' isinstance checks (flax's sharding helpers) and cannot
be made."""

__all__ = ["Format", "Layout"]


class _NoLayout:
    def __init__(self, *args, **kwargs):
        raise NotImplementedError(f"jax.experimental.layout.{type(self).__name__} is not in gpuxla (it has no "
                                  "custom array layouts)")


class Format(_NoLayout):
    pass


class Layout(_NoLayout):
    pass
