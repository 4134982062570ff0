"""Number formatting shared by the bench/summarize_*.py scripts."""


def fmt(x, thousands=True):
    """A figure with about three significant digits: 12,345 / 123 / 12.3 / 1.23 / 0.123."""
    if x == 0:
        return "0"
    a = abs(x)
    if a >= 100:
        return f"{x:,.0f}" if thousands else f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    if a >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"
