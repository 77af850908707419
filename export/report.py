"""The short parity table `python -m export` prints (the same figures as metadata.json)."""

from __future__ import annotations

from typing import Any


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f} %"


def format_table(metadata: dict[str, Any]) -> str:
    """Agreement, max and mean |Δp|, native vs exported accuracy, download size, time."""
    parity = metadata.get("parity")
    accuracy = metadata["accuracy"]
    size = metadata["download_bytes"]
    files = len(metadata["files"])
    lines = []
    if parity is None:
        lines.append(f"UNVERIFIED export (--no-verify), quantization {metadata['quantization']}")
        lines.append(f"  Keras test accuracy   {_pct(accuracy['native'])} on {accuracy['digits']:,} digits")
    else:
        limits = parity["thresholds"]
        lines.append(f"TF.js parity on {parity['digits']:,} MNIST test digits "
                     f"(Node.js, {parity['backend']} backend), quantization {metadata['quantization']}")
        agree_limit = f"need ≥ {100 * limits['min_agreement']:.2f} %" if "min_agreement" in limits else ""
        lines.append(f"  argmax agreement      {100 * parity['agreement']:.2f} %"
                     f"  ({parity['disagreements']} differ)  {agree_limit}".rstrip())
        diff_limit = f"need ≤ {limits['max_abs_diff']:.0e}" if "max_abs_diff" in limits else ""
        lines.append(f"  max |Δp|              {parity['max_abs_diff']:.2e}  {diff_limit}".rstrip())
        lines.append(f"  mean |Δp|             {parity['mean_abs_diff']:.2e}")
        change_limit = ""
        if "max_accuracy_change_pp" in limits:
            change_limit = f"need within ±{limits['max_accuracy_change_pp']} pp"
        elif "max_accuracy_drop_pp" in limits:
            change_limit = f"need drop ≤ {limits['max_accuracy_drop_pp']} pp"
        lines.append(f"  test accuracy         {_pct(accuracy['native'])} Keras → "
                     f"{_pct(accuracy['exported'])} TF.js ({parity['accuracy_change_pp']:+.2f} pp)"
                     f"  {change_limit}".rstrip())
        lines.append(f"  result                {'PASS' if parity['passed'] else 'FAIL'}")
    lines.append(f"  download size         {size:,} bytes ({size / 1024:.1f} KiB, {files} files)")
    lines.append(f"  export time           {metadata['export_seconds']:.1f} s")
    return "\n".join(lines)
