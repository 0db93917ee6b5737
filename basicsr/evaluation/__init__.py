"""The paper's evaluation protocols as runnable evaluations: validation during training, metric
reports (tables, CSV/JSON), the shared body of the per-task test scripts, and the task table."""
from basicsr.evaluation.report import MetricTable, evaluate_folders, evaluate_pairs, pair_files, summary_table
from basicsr.evaluation.restorer import Restorer
from basicsr.evaluation.tasks import TASKS, TaskSpec, get_task
from basicsr.evaluation.validation import shard_loader, validate

__all__ = ['Restorer', 'MetricTable', 'evaluate_folders', 'evaluate_pairs', 'pair_files', 'summary_table', 'TASKS',
           'TaskSpec', 'get_task', 'shard_loader', 'validate']
