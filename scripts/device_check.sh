#!/usr/bin/env bash
# One prepared device check: run it once on a GPU machine, from the repository root, with the
# project installed (pip install -e ".[test]"). About 5 minutes on one H200; no network.
#
#   scripts/device_check.sh             the check, on CUDA
#   scripts/device_check.sh --dry-run   every stage shortened and run on the CPU (a few minutes
#                                       on a laptop); the report goes to a temporary folder (or
#                                       $OUT), never to results/benchmarks/
#   --stages data,train_gpu,eval_c      only these stages (tests/test_device_check.py runs this
#                                       subset of the dry run; eval_c needs train_gpu)
#
# Stages (each one is timed and logged; a failing stage does not stop the others):
#   gpu_tests      pytest -m gpu (the CUDA tests: ops and mixing pixel-exact, the sync budget)
#   bench_augment  scripts/bench_augment.py --quick (per-image AugMix on the CPU and the GPU)
#   bench_train    scripts/bench_train.py --models wrn40_2 (training throughput per set-up)
#   bench_successors scripts/bench_successors.py --quick (every method beside its reference on the
#                  CPU; on the GPU, PRIME's and AugMix's views of a JSD batch vs WRN-40-2's step)
#   train_gpu      2 epochs of WRN-40-2 AugMix + JSD on a CIFAR-sized synthetic set (50,000
#                  training images), trainer.data_pipeline=gpu
#   train_cpu      the same with trainer.data_pipeline=cpu (PIL in data-loader workers)
#   ddp_nccl       1 epoch as a 1-rank DDP job under torchrun (NCCL)
#   eval_c         the -C evaluation of train_gpu's checkpoint (throughput in images/s)
# The figures go to results/benchmarks/device_check.{md,json} (with device, command, date) and,
# when $OUT is set, to $OUT with the benchmark reports and every stage's log. Nothing in CI runs
# this script with a GPU; CI only runs the dry run.
set -uo pipefail

ARGS="$*"
ALL_STAGES="data gpu_tests bench_augment bench_train bench_successors train_gpu train_cpu ddp_nccl eval_c"
DRY_RUN=0
SELECTED="$ALL_STAGES"
while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) DRY_RUN=1 ;;
        --stages)
            SELECTED="${2:-}"; SELECTED="${SELECTED//,/ }"; shift
            for name in $SELECTED; do
                case " $ALL_STAGES " in
                    *" $name "*) ;;
                    *) echo "device_check.sh: error: unknown stage '$name'; accepted: ${ALL_STAGES// /, }" >&2; exit 2 ;;
                esac
            done ;;
        -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "device_check.sh: error: unknown argument '$1'; accepted: --dry-run, --stages, --help" >&2; exit 2 ;;
    esac
    shift
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 2
PYTHON="${PYTHON:-python}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/device_check.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
DATA="$WORK/data"
STAGES="$WORK/stages.tsv"
: > "$STAGES"

if [ "$DRY_RUN" = 1 ]; then
    REPORTS="$WORK/reports"
    TRAIN_SIZE=64; TEST_SIZE=20; EPOCHS=1
    MODEL=(model=wrn40_2 model.depth=10 model.widen_factor=1)
    DEVICE=(trainer.accelerator=cpu trainer.num_workers=0 trainer.batch_size=32 trainer.eval_batch_size=40)
    GPU_TESTS=(-m gpu --collect-only -q)      # no CUDA here: the GPU tests are only collected
    BENCH_AUGMENT=(--sizes 32 --rounds 1 --seconds 0.02)
    BENCH_TRAIN=(--quick --models allconv)
    BENCH_SUCCESSORS=(--sizes 32 --rounds 1 --seconds 0.02)
    EVAL_LIMIT=(eval.limit=20); PER_SET=20
    LIMIT=240
else
    if ! "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
        echo "device_check.sh: error: no CUDA device visible; accepted: a GPU machine, or --dry-run" >&2
        exit 2
    fi
    REPORTS="$ROOT/results/benchmarks"
    TRAIN_SIZE=50000; TEST_SIZE=2000; EPOCHS=2
    MODEL=(model=wrn40_2)
    DEVICE=(trainer.accelerator=cuda "trainer.num_workers=$(( $(nproc) < 12 ? $(nproc) : 12 ))")
    GPU_TESTS=(-m gpu -q)
    BENCH_AUGMENT=(--quick)
    BENCH_TRAIN=(--models wrn40_2)
    BENCH_SUCCESSORS=(--quick)
    EVAL_LIMIT=(); PER_SET=$TEST_SIZE
    LIMIT=150
fi
mkdir -p "$REPORTS" "$DATA"

COMMON=(dataset=synthetic "dataset.root=$DATA" dataset.download=true "dataset.train_size=$TRAIN_SIZE"
        "dataset.test_size=$TEST_SIZE" augmentation=augmix "${MODEL[@]}" "${DEVICE[@]}"
        "trainer.epochs=$EPOCHS" trainer.progress=false trainer.eval_every=0)

# stage NAME SECONDS COMMAND...: run COMMAND with a time limit, log it, record status and time.
stage() {
    local name="$1" limit="$2"
    shift 2
    case " $SELECTED " in *" $name "*) ;; *) return 0 ;; esac
    local log="$WORK/$name.log" start end status command="${*//$'\n'/ }"
    echo "== $name: $command"
    start=$(date +%s%N)
    timeout --kill-after=10 "$limit" "$@" > "$log" 2>&1
    status=$?
    end=$(date +%s%N)
    printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$(awk "BEGIN { print ($end - $start) / 1e9 }")" "$command" >> "$STAGES"
    tail -n 3 "$log"
    echo "== $name: exit $status"
}

# The data first (generated, no network), so that no training stage times its generation.
stage data "$LIMIT" "$PYTHON" -c "
from augmix_bench.data.synthetic import SyntheticCifarBenchmark
SyntheticCifarBenchmark('$DATA', train_size=$TRAIN_SIZE, test_size=$TEST_SIZE).prepare(['clean', 'corruptions'], download=True)"
stage gpu_tests "$LIMIT" "$PYTHON" -m pytest -p no:cacheprovider "${GPU_TESTS[@]}" tests
stage bench_augment "$LIMIT" "$PYTHON" scripts/bench_augment.py "${BENCH_AUGMENT[@]}" --out-dir "$REPORTS"
stage bench_train "$LIMIT" "$PYTHON" scripts/bench_train.py "${BENCH_TRAIN[@]}" --out-dir "$REPORTS"
stage bench_successors "$(( LIMIT * 3 ))" "$PYTHON" scripts/bench_successors.py "${BENCH_SUCCESSORS[@]}" --out-dir "$REPORTS"
stage train_gpu "$LIMIT" augmix-train "${COMMON[@]}" trainer.data_pipeline=gpu eval.suites=[clean] \
    "hydra.run.dir=$WORK/runs/train_gpu"
stage train_cpu "$LIMIT" augmix-train "${COMMON[@]}" trainer.data_pipeline=cpu eval.suites=[clean] \
    "hydra.run.dir=$WORK/runs/train_cpu"
stage ddp_nccl "$LIMIT" "$PYTHON" -m torch.distributed.run --standalone --nproc_per_node=1 \
    "$(command -v augmix-train)" "${COMMON[@]}" trainer.epochs=1 trainer.data_pipeline=gpu eval.suites=[clean] \
    "hydra.run.dir=$WORK/runs/ddp_nccl"
stage eval_c "$LIMIT" augmix-eval "checkpoint=$WORK/runs/train_gpu/checkpoints/last.pt" "dataset.root=$DATA" \
    "eval.suites=[corruptions]" "${EVAL_LIMIT[@]}" "output=$WORK/runs/eval_c.json" "hydra.run.dir=$WORK/runs/eval_c"

"$PYTHON" scripts/device_check_report.py --work "$WORK" --out-dir "$REPORTS" --per-set "$PER_SET" \
    --command "scripts/device_check.sh${ARGS:+ $ARGS}"
report_status=$?

if [ -n "${OUT:-}" ]; then
    mkdir -p "$OUT"
    cp "$REPORTS"/device_check.* "$REPORTS"/bench_*.md "$REPORTS"/bench_*.json "$OUT"/ 2>/dev/null
    mkdir -p "$OUT/logs" && cp "$WORK"/*.log "$STAGES" "$OUT/logs"/
fi
failed=$(awk -F'\t' '$2 != 0' "$STAGES" | cut -f1 | tr '\n' ' ')
if [ -n "$failed" ] || [ "$report_status" != 0 ]; then
    echo "device_check.sh: failed stages: ${failed:-report}" >&2
    exit 1
fi
if [ "$DRY_RUN" = 1 ]; then
    echo "device_check.sh: every stage passed (dry run; the report is kept only in \$OUT when set)"
else
    echo "device_check.sh: every stage passed; report in $REPORTS/device_check.md"
fi
