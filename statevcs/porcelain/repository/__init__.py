"""The Repository facade: one method per user operation, each delegating to the concern packages beside this one."""
