"""The LRP parameter space: sweeps over designs and batch runs over images, locally or on Ray.

:mod:`.space` parses ``--vary`` axes and builds each point's design, :mod:`.runner` cuts the work into
(design chunk × image chunk) tasks that a :class:`~.runner.Worker` runs, :mod:`.executors` runs tasks in
this process or on Ray actors, :mod:`.table` writes the result table and the summary, :mod:`.driver`
ties them together for the CLI and the server.
"""

from .driver import Inputs, RunError, load_inputs, run_batch, run_sweep, summary_path
from .executors import ExecutorError, LocalExecutor, RayExecutor, get_executor
from .space import Axis, Point, Space, SpaceError, parse_axis, point_key
from .table import TableError

__all__ = [
    "Axis", "ExecutorError", "Inputs", "LocalExecutor", "Point", "RayExecutor", "RunError", "Space", "SpaceError",
    "TableError", "get_executor", "load_inputs", "parse_axis", "point_key", "run_batch", "run_sweep", "summary_path",
]
