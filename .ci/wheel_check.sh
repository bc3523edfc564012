#!/usr/bin/env bash
# The package as a user gets it (`make wheel-check`, part of `make test`): build the wheel, install it into a
# fresh virtual environment with no development extras, and use it from outside the source tree: --help, a tiny
# training run, evaluate, report, predict, then the web app (the `serve` extra) answering its page and a digit.
# torch comes from constraints.txt (2.13.0, the CPU build); the check fails if a CUDA build was installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
src=$(pwd)
work=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
start=$(date +%s)

.venv/bin/pip wheel . --no-deps --no-build-isolation --quiet --wheel-dir "$work/dist"
wheel=$(ls "$work"/dist/mnistlab-*.whl)
echo "wheel-check: built $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KB)"
"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check -c "$src/constraints.txt" "$wheel"
py="$work/venv/bin/python"
m="$work/venv/bin/mnistlab"
"$py" - <<'PY'
import sys, importlib.metadata as md
import torch
assert torch.version.cuda is None, f"a CUDA build of torch was installed: {torch.__version__}"
dev = [name for name in ("pytest", "ruff", "mkdocs", "fastapi") if any(True for _ in md.distributions(name=name))]
assert not dev, f"development packages in a plain install: {dev}"
import mnistlab, mnistlab.datasets
assert "site-packages" in mnistlab.__file__, mnistlab.__file__
from importlib import resources
shipped = [resources.files("mnistlab.serve.playground") / f for f in ("playground.html", "playground.js", "preprocess.js")]
shipped += [resources.files("mnistlab.exercises") / "masters" / f for f in ("cnn.md", "planted.toml")]
assert all(f.is_file() for f in shipped), [str(f) for f in shipped if not f.is_file()]
print(f"wheel-check: mnistlab {mnistlab.__version__} from {mnistlab.__file__}, torch {torch.__version__}")
PY

cd "$work"    # away from the source tree: only the installed package can answer
"$m" --version
"$m" --help >/dev/null
"$m" data fetch mnist >/dev/null
"$m" train --data mnist --model mlp --limit 3000 --epochs 1 --seed 0 --out run --overwrite
"$m" evaluate run >/dev/null
"$m" report run
test -s run/report.html
grep -q "<svg" run/report.html      # the template rendered its charts
"$py" -c "
from mnistlab import datasets
from PIL import Image
test = datasets.load('mnist', 'test')
Image.fromarray(test.images[0]).save('digit.png')
print('wheel-check: test image 0 is a', test.classes[test.labels[0]])
"
"$m" predict run digit.png

# The web app, from the `serve` extra: its page and static files come from the wheel.
"$work/venv/bin/pip" install --quiet --disable-pip-version-check -c "$src/constraints.txt" "$wheel[serve]"
"$m" serve run --port 0 --no-onnx > serve.log 2>&1 &
server=$!
for _ in $(seq 100); do grep -q "serving" serve.log && break; sleep 0.2; done
url=$(grep -o 'http://[^ ]*' serve.log | head -1)
"$py" - "$url" <<'PY'
import json, sys, urllib.request
url = sys.argv[1].rstrip("/")
page = urllib.request.urlopen(url + "/").read().decode()
assert "<canvas" in page, "the page has no drawing pad"
for asset in ("app.js", "app.css"):
    assert asset in page, asset
    assert urllib.request.urlopen(f"{url}/static/{asset}").status == 200
body = open("digit.png", "rb").read()
req = urllib.request.Request(url + "/predict?top=3", data=body, headers={"Content-Type": "image/png"})
answer = json.load(urllib.request.urlopen(req))
print("wheel-check: the web app answered", answer["top"][0])
PY
echo "wheel-check: passed in $(( $(date +%s) - start )) s"
