#!/usr/bin/env bash
# aarch64 proof: the SDK from a wheel of this checkout, in an emulated arm64 Debian (Raspberry Pi OS
# and Jetson's L4T are arm64 Debian/Ubuntu), with no torch.
#
#   sudo bash benchmarks/aarch64_check.sh            # all stages; needs root (debootstrap, chroot, mounts)
#   sudo STAGES="predict compare" bash benchmarks/aarch64_check.sh   # only some stages (the root is kept)
#
# Stages (each prints its wall time; a failed root, wheel or venv stops the run, other failures are
# reported and the next stages still run):
#   root     debootstrap an arm64 Debian bookworm into $ARM64_ROOT (kept: rerun skips it)
#   wheel    build the yolopose wheel from this checkout (on the host) and copy it into the root
#   install  pip install "yolopose-*.whl[litert,onnxruntime]" in a venv inside the root (timed), then
#            probe every other extra for aarch64 wheels (openvino, tflite, video, eval, ray)
#   predict  yolopose predict on the bundled samples with each bundled model and each engine that
#            installed, inside the root and on this x86 host (same wheel, host venv)
#   compare  boxes / scores / keypoints of the arm64 run against the x86 run (max differences)
#   tests    the lean test suite (pytest -m "not torch") inside the root, from this checkout's tests/
#
# Needs: apt-get install qemu-user-static binfmt-support debootstrap; binfmt_misc mounted
# (mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc). Reaches PyPI and Debian's mirror.
# Writes $OUT (default docs/results/aarch64_check.md) and the raw logs under $WORK.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
ARM64_ROOT=${ARM64_ROOT:-/work/arm64-root}
WORK=${WORK:-/tmp/yolopose-aarch64}
OUT=${OUT:-$REPO/docs/results/aarch64_check.md}
SUITE=${SUITE:-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
STAGES=${STAGES:-root wheel install predict compare tests}
TEST_TIMEOUT=${TEST_TIMEOUT:-10800}   # seconds for the whole emulated test suite
# the emulated core: Cortex-A76 is the Raspberry Pi 5's (ARMv8.2 with dot product, as Jetson Orin's A78AE)
QEMU_CPU=${QEMU_CPU:-cortex-a76}
HOST_PY=${HOST_PY:-python3}
# pip inside the root trusts the host's CA bundle (networks whose TLS goes through an inspecting proxy)
HOST_CA=${HOST_CA:-/etc/ssl/certs/ca-certificates.crt}
mkdir -p "$WORK"
LOG="$WORK/summary.txt"
: > "$LOG"

note() { echo "$*" | tee -a "$LOG"; }
stamp() { date +%s; }
want() { [[ " $STAGES " == *" $1 "* ]]; }
in_root() { chroot "$ARM64_ROOT" /usr/bin/env -i HOME=/root PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin \
  QEMU_CPU="$QEMU_CPU" LANG=C.UTF-8 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_PROGRESS_BAR=off PIP_DEFAULT_TIMEOUT=180 \
  PIP_CERT=/etc/ssl/certs/host-ca-bundle.crt /bin/bash -c "$1"; }

# No /sys in the root: the host's (x86) sysfs makes the cpuinfo library inside onnxruntime and LiteRT
# crash under qemu-user (segmentation fault), while without it they fall back to defaults and run.
mount_root() {
  for d in proc dev dev/pts; do
    mkdir -p "$ARM64_ROOT/$d"
    mountpoint -q "$ARM64_ROOT/$d" || case $d in
      proc) mount -t proc proc "$ARM64_ROOT/proc" ;;
      *) mount --bind "/$d" "$ARM64_ROOT/$d" ;;
    esac
  done
  cp -L /etc/resolv.conf "$ARM64_ROOT/etc/resolv.conf"
  mkdir -p "$ARM64_ROOT/etc/ssl/certs"
  if [ -f "$HOST_CA" ]; then cp -L "$HOST_CA" "$ARM64_ROOT/etc/ssl/certs/host-ca-bundle.crt"
  else cp -L "$ARM64_ROOT/etc/ssl/certs/ca-certificates.crt" "$ARM64_ROOT/etc/ssl/certs/host-ca-bundle.crt"; fi
}
umount_root() {
  for d in dev/pts dev proc; do mountpoint -q "$ARM64_ROOT/$d" && umount -l "$ARM64_ROOT/$d"; done
  return 0
}
trap umount_root EXIT
copy_checkout() {  # the files of the checkout (tracked or new, not ignored): no stale build/ or venv
  rm -rf "$1" && mkdir -p "$1"
  git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
    [ -e "$f" ] && cp --parents -- "$f" "$1/"; done
}

note "# aarch64 check ($(date -u +%Y-%m-%dT%H:%MZ))"
note "host: $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores;" \
  "qemu: $(qemu-aarch64-static --version | head -1), emulated CPU $QEMU_CPU"
note "git: $(git rev-parse --short HEAD) $(git status --porcelain | grep -q . && echo '(with uncommitted changes)')"

# ----------------------------------------------------------------------------- root
if want root; then
  if ! grep -q enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null; then
    mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
  fi
  grep -q enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 || { note "FAIL root: qemu-aarch64 is not registered with binfmt_misc"; exit 1; }
  if [ -f "$ARM64_ROOT/.yolopose-root-ok" ]; then
    note "root: $ARM64_ROOT exists (kept from $(cat "$ARM64_ROOT/.yolopose-root-ok"))"
  else
    t0=$(stamp)
    debootstrap --arch=arm64 --variant=minbase \
      --include=python3,python3-venv,python3-pip,ca-certificates,libgomp1 \
      "$SUITE" "$ARM64_ROOT" "$MIRROR" > "$WORK/debootstrap.log" 2>&1 \
      && date -u +%Y-%m-%d > "$ARM64_ROOT/.yolopose-root-ok" \
      && note "root: debootstrap $SUITE arm64 in $(( $(stamp) - t0 )) s" \
      || { note "FAIL root: debootstrap (see $WORK/debootstrap.log)"; tail -5 "$WORK/debootstrap.log"; exit 1; }
  fi
fi
mount_root
note "arm64 root: $(in_root 'uname -m; . /etc/os-release; echo $PRETTY_NAME; python3 --version' | xargs)"

# ----------------------------------------------------------------------------- wheel
if want wheel; then
  t0=$(stamp)
  rm -rf "$WORK/dist" && mkdir -p "$WORK/dist"
  copy_checkout "$WORK/src"
  (cd "$WORK/src" && "$HOST_PY" -m pip wheel --no-deps --no-build-isolation -q -w "$WORK/dist" . > "$WORK/wheel.log" 2>&1 \
    || "$HOST_PY" -m pip wheel --no-deps -q -w "$WORK/dist" . >> "$WORK/wheel.log" 2>&1) \
    || { note "FAIL wheel (see $WORK/wheel.log)"; exit 1; }
  rm -rf "$ARM64_ROOT/opt/dist" && mkdir -p "$ARM64_ROOT/opt/dist" && cp "$WORK"/dist/*.whl "$ARM64_ROOT/opt/dist/"
  note "wheel: $(basename "$WORK"/dist/*.whl) ($(du -k "$WORK"/dist/*.whl | cut -f1) KiB) in $(( $(stamp) - t0 )) s"
fi

# ----------------------------------------------------------------------------- install
if want install; then
  in_root 'rm -rf /opt/venv && python3 -m venv /opt/venv' || { note "FAIL install: venv"; exit 1; }
  t0=$(stamp)
  if in_root 'cd /opt/dist && pip install "$(ls yolopose-*.whl)[litert,onnxruntime]"' > "$WORK/install.log" 2>&1; then
    note "install: pip install \"yolopose-*.whl[litert,onnxruntime]\" in $(( $(stamp) - t0 )) s" \
      "(torch installed: $(in_root 'python -c "import torch" 2>/dev/null && echo yes || echo no'))"
  else
    note "FAIL install: yolopose[litert,onnxruntime] (see $WORK/install.log)"; tail -5 "$WORK/install.log" | tee -a "$LOG"
  fi
  note "installed: $(in_root 'pip list 2>/dev/null | grep -iE "^(yolopose|numpy|pillow|onnxruntime|ai-edge-litert) " | tr -s " " | paste -sd";"')"
  # every other extra: is there an aarch64 wheel (or does it build)? pip --dry-run resolves and downloads only
  for pair in openvino:openvino tflite:tflite-runtime video:opencv-python-headless eval:pycocotools ray:ray; do
    extra=${pair%%:*} main=${pair#*:}
    t1=$(stamp)
    if in_root "cd /opt/dist && pip install --dry-run --only-binary=:all: \"\$(ls yolopose-*.whl)[$extra]\"" > "$WORK/extra-$extra.log" 2>&1; then
      local_list=$(grep -m1 'Would install' "$WORK/extra-$extra.log" | cut -c15- | tr ' ' '\n')
      note "extra [$extra]: aarch64 wheels for all $(echo "$local_list" | grep -c .) packages, e.g. $(echo "$local_list" | grep -iE "^($main|numpy)-" | paste -sd' ') ($(( $(stamp) - t1 )) s)"
    else
      note "extra [$extra]: NO complete set of aarch64 wheels: $(grep -m1 -E 'ERROR' "$WORK/extra-$extra.log" | cut -c1-200)"
    fi
  done
  # openvino runs the ONNX and the TFLite model too: install it for the predict stage when it has a wheel
  if in_root 'pip install openvino' > "$WORK/install-openvino.log" 2>&1; then
    note "install: openvino $(in_root 'pip show openvino 2>/dev/null | grep ^Version | cut -d" " -f2')"
  fi
fi

# ----------------------------------------------------------------------------- predict
run_predicts() {  # $1: "arm64" or "x86"; runs each (model, backend) pair it can
  local where=$1 dest="$WORK/predict-$1"
  rm -rf "$dest" && mkdir -p "$dest"
  for model in default_fp32.onnx default_int8.tflite; do
    for backend in onnxruntime tflite openvino; do
      case "$model:$backend" in *.onnx:tflite | *.tflite:onnxruntime | *.tflite:openvino) continue ;; esac
      local name="${model%.*}@$backend"
      local t0; t0=$(stamp)
      if [ "$where" = arm64 ]; then
        in_root "A=\$(python -c 'import yolopose,os;print(os.path.dirname(yolopose.__file__))')/assets; yolopose predict \$A/samples --model \$A/$model --backend $backend --json" \
          > "$dest/$name.jsonl" 2> "$dest/$name.err"
      else
        "$WORK/x86-venv/bin/python" -c "import yolopose" 2>/dev/null || return 1
        A=$("$WORK/x86-venv/bin/python" -c 'import yolopose,os;print(os.path.dirname(yolopose.__file__))')/assets
        "$WORK/x86-venv/bin/yolopose" predict "$A/samples" --model "$A/$model" --backend "$backend" --json \
          > "$dest/$name.jsonl" 2> "$dest/$name.err"
      fi
      local rc=$?
      if [ $rc -eq 0 ]; then
        note "predict $where $name: $(wc -l < "$dest/$name.jsonl") images in $(( $(stamp) - t0 )) s"
      else
        note "predict $where $name: FAILED ($(grep -v '^$' "$dest/$name.err" | tail -1 | cut -c1-200))"
        rm -f "$dest/$name.jsonl"
      fi
    done
  done
}
if want predict; then
  if [ ! -x "$WORK/x86-venv/bin/yolopose" ] || want wheel; then
    rm -rf "$WORK/x86-venv" && "$HOST_PY" -m venv "$WORK/x86-venv"
    "$WORK/x86-venv/bin/pip" install -q "$(ls "$WORK"/dist/yolopose-*.whl)[litert,onnxruntime,openvino]" > "$WORK/x86-install.log" 2>&1 \
      || note "FAIL x86 venv install (see $WORK/x86-install.log)"
  fi
  run_predicts x86
  run_predicts arm64
fi

# ----------------------------------------------------------------------------- compare
if want compare; then
  "$HOST_PY" - "$WORK" <<'PY' | tee -a "$LOG"
import json, sys
from pathlib import Path
import numpy as np

work = Path(sys.argv[1])
def load(p):
    return {Path(r["source"]).name: r for r in map(json.loads, p.read_text().splitlines())}
worst = {}
for arm in sorted((work / "predict-arm64").glob("*.jsonl")):
    x86 = work / "predict-x86" / arm.name
    if not x86.exists():
        print(f"compare {arm.stem}: no x86 run"); continue
    a, b = load(arm), load(x86)
    counts, box, score, kxy, kconf = [], 0.0, 0.0, 0.0, 0.0
    for img in sorted(b):
        pa, pb = a[img]["poses"], b[img]["poses"]
        counts.append(f"{len(pa)}/{len(pb)}")
        if len(pa) != len(pb):
            continue
        for qa, qb in zip(sorted(pa, key=lambda p: -p["score"]), sorted(pb, key=lambda p: -p["score"])):
            box = max(box, float(np.abs(np.subtract(qa["box"], qb["box"])).max()))
            score = max(score, abs(qa["score"] - qb["score"]))
            ka, kb = np.asarray(qa["keypoints"], float), np.asarray(qb["keypoints"], float)
            kxy = max(kxy, float(np.abs(ka[:, :2] - kb[:, :2]).max()))
            kconf = max(kconf, float(np.abs(ka[:, 2] - kb[:, 2]).max()))
    same = all(c.split("/")[0] == c.split("/")[1] for c in counts)
    print(f"compare {arm.stem}: people per image arm64/x86 {' '.join(counts)}{'' if same else ' (DIFFERENT)'}; "
          f"max |diff| box {box:.2e} px, score {score:.2e}, keypoint xy {kxy:.2e} px, keypoint conf {kconf:.2e}")
PY
fi

# ----------------------------------------------------------------------------- tests
if want tests; then
  copy_checkout "$ARM64_ROOT/opt/src"  # tests/ and what some tests read (sources, README, examples)
  t0=$(stamp)
  # the suite runs on the proven install ([litert,onnxruntime]) plus the test tools: openvino, installed for the
  # predict stage, crashes under qemu-user (see the predict lines) and would take the whole pytest process with it
  in_root 'pip uninstall -y -q openvino openvino-telemetry' > /dev/null 2>&1
  in_root 'pip install pytest hypothesis pytest-timeout onnx' > "$WORK/test-install.log" 2>&1 \
    && note "tests: pytest hypothesis pytest-timeout onnx installed in $(( $(stamp) - t0 )) s" \
    || note "FAIL tests: installing the test tools (see $WORK/test-install.log)"
  t0=$(stamp)
  # the installed wheel is what is tested (the checkout has no importable `yolopose` folder: sdk/ is mapped)
  timeout "$TEST_TIMEOUT" chroot "$ARM64_ROOT" /usr/bin/env -i HOME=/root PATH=/opt/venv/bin:/usr/bin:/bin LANG=C.UTF-8 QEMU_CPU="$QEMU_CPU" \
    PIP_CERT=/etc/ssl/certs/host-ca-bundle.crt /bin/bash -c 'cd /opt/src && python -m pytest -m "not torch" -q -p no:cacheprovider --timeout 1800 -o addopts="-ra --strict-markers"' \
    > "$WORK/tests.log" 2>&1
  rc=$?
  note "tests: pytest -m \"not torch\" exit $rc in $(( $(stamp) - t0 )) s: $(grep -E '(passed|failed|error)' "$WORK/tests.log" | tail -1)"
  grep -E '^(FAILED|ERROR)' "$WORK/tests.log" | head -40 | tee -a "$LOG"
fi

# ----------------------------------------------------------------------------- report
{
  echo "# aarch64 check: the SDK on emulated arm64 Debian"
  echo
  echo "Printed by \`sudo bash benchmarks/aarch64_check.sh\` (stages: $STAGES). Raw logs: \`$WORK\`."
  echo
  echo '```'
  cat "$LOG"
  echo '```'
} > "$OUT.tmp" && mv "$OUT.tmp" "$OUT"
echo "written $OUT"
