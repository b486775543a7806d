"""Differentiable architecture search: supernet over the space, the latency+energy loss, the search loop."""
