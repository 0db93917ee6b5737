"""The benchmark script runs and reports what the stage-aware loader saves."""
from __future__ import annotations

import benchmark  # scripts/benchmark.py (scripts/ is on sys.path: conftest)


def test_loader_benchmark_counts_decoded_images(capsys):
    rows = benchmark.main(['loader', '--workers', '0', '--stages', '6', '--iters', '2', '--warmup', '1',
                           '--images', '8'])
    by_mode = {r['mode']: r for r in rows}
    assert by_mode['official']['decoded_images_per_iter'] == 16  # 8 pairs of 384x384 crops, 7 thrown away
    assert by_mode['stage_aware']['decoded_images_per_iter'] == 2
    assert by_mode['stage_aware']['patch'] == by_mode['official']['patch'] == 384
    assert 'stage-aware / official throughput' in capsys.readouterr().out


def test_train_step_benchmark():
    row = benchmark.main(['train_step', '--device', 'cpu', '--dim', '8', '--num_blocks', '1', '1', '1', '1',
                          '--refinement', '1', '--batch', '1', '--patch', '16', '--iters', '1', '--warmup', '1'])
    assert row['ms_per_iter'] > 0 and row['samples_per_s'] > 0


def test_table_benchmark_rows(tmp_path):
    out = benchmark.main(['table', '--device', 'cpu', '--stages', '1', '--precisions', 'fp32', 'bf16',
                          '--checkpointing', 'off', 'block', '--inference', '256', '--reps', '1', '--warmup', '1',
                          '--dim', '8', '--num_blocks', '1', '1', '1', '1', '--refinement', '1', '--patch_scale',
                          '0.25', '--matmul_size', '256', '--json', str(tmp_path / 't.json')])
    train = out['train']
    assert [(r['net'], r['precision'], r['checkpointing']) for r in train] == [
        ('reference', 'fp32', 'off'), ('project', 'fp32', 'off'), ('project', 'fp32', 'block'),
        ('project', 'bf16', 'off'), ('project', 'bf16', 'block')]
    assert all(r['size'] == '32x32' and r['batch'] == 8 and r['ms'] > 0 and r['gflops'] > 0 for r in train)
    assert train[1]['speedup_vs_reference'] > 0 and train[0]['speedup_vs_reference'] == 1.0
    assert [r['net'] for r in out['inference']] == ['reference', 'project', 'project']
    assert set(out['matmul_gflops']) == {'fp32', 'bf16'}
    import json
    assert json.load(open(tmp_path / 't.json'))['train'][2]['checkpointing'] == 'block'


def test_arch_benchmark_pairs_against_the_reference():
    from benchmark_table import forward_flops
    (res,) = benchmark.main(['arch', '--what', 'infer', '--threads', '1', '--pairs', '2', '--warmup', '0',
                             '--size', '16'])
    assert res['what'] == 'infer' and res['shape'] == (1, 3, 16, 16) and len(res['ratios']) == 2
    assert res['base_ms'] > 0 and res['cand_ms'] > 0 and res['ratio_median'] > 0
    assert res['gflop'] == forward_flops({}, (1, 3, 16, 16)) / 1e9 and res['matmul_gflops'] > 0
