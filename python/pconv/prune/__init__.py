"""Pattern + connectivity pruning with ADMM (PConv's training side).

The pruner produces models whose 3x3 convolutions are *pattern-sparse*: every kernel
is either removed (connectivity pruning) or keeps only the taps of one pattern of a
small library (:class:`pconv.patterns.PatternLibrary`, shared with the compiler).

Typical use::

    from pconv.prune import ADMMPruner, FitConfig, PruneConfig, fit

    pruner = ADMMPruner(trained_model, config=PruneConfig(num_patterns=8, connectivity_keep=1 / 3.6))
    fit(pruner, train_set, torch.nn.functional.cross_entropy,
        FitConfig(admm_epochs=20, retrain_epochs=10), checkpoint_dir="ckpt")
    exported = pruner.export(input_shape=(1, 3, 32, 32))
    exported.tables["features.3"]       # int32 [F, C]: pattern id per kernel, -1 = pruned
    exported.library.to_mlir()          # '#pconv.patterns<3x3, taps = 4, [...]>'

See ``docs/pruning.md`` for the method, the API and measured results.
"""

from pconv.patterns import PatternLibrary

from .admm import ADMMPruner
from .baselines import MagnitudePruner
from .config import LayerPlan, PruneConfig, RhoSchedule, conv_layers, plan_layers
from .distill import Distillation, distillation_loss
from .errors import (
    CheckpointError,
    InvalidRateError,
    NoPrunableLayerError,
    NotPatternSparseError,
    PatternLibraryError,
    PruneError,
    UnknownLayerError,
)
from .export import (
    LayerReport,
    PatternTables,
    PrunedModel,
    PruneReport,
    check_pattern_sparse,
    export_pruned,
    infer_library,
    pattern_tables,
    prune_report,
)
from .library import as_library, count_kernel_masks, extract_library
from .linear import LinearPruneResult, block_norms, project_blocks, prune_linear
from .masks import MaskSet
from .projection import (
    connectivity_mask,
    kernel_norms,
    pattern_ids,
    project_connectivity,
    project_pattern,
)
from .training import (
    FitConfig,
    FitResult,
    Pruner,
    epoch_seed,
    fit,
    recalibrate_batchnorm,
    seed_everything,
    train_one_epoch,
)

__all__ = [
    "ADMMPruner",
    "CheckpointError",
    "Distillation",
    "FitConfig",
    "FitResult",
    "InvalidRateError",
    "LayerPlan",
    "LayerReport",
    "LinearPruneResult",
    "MagnitudePruner",
    "MaskSet",
    "NoPrunableLayerError",
    "NotPatternSparseError",
    "PatternLibrary",
    "PatternLibraryError",
    "PatternTables",
    "PruneConfig",
    "PruneError",
    "PruneReport",
    "PrunedModel",
    "Pruner",
    "RhoSchedule",
    "UnknownLayerError",
    "as_library",
    "block_norms",
    "check_pattern_sparse",
    "connectivity_mask",
    "conv_layers",
    "count_kernel_masks",
    "distillation_loss",
    "epoch_seed",
    "export_pruned",
    "extract_library",
    "fit",
    "infer_library",
    "kernel_norms",
    "pattern_ids",
    "pattern_tables",
    "plan_layers",
    "project_blocks",
    "project_connectivity",
    "project_pattern",
    "recalibrate_batchnorm",
    "prune_linear",
    "prune_report",
    "seed_everything",
    "train_one_epoch",
]
