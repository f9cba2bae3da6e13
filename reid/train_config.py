"""The training recipe (`configs/reid/*.yaml`) as frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from reid.config import require
from reid.data.fog_streams import FogTrainConfig
from reid.data.transforms import AugmentConfig
from reid.enlighten import EnlightenConfig
from reid.models import MODELS, ModelConfig
from reid.objectives import OBJECTIVES, LossConfig

EVAL_CONDITIONS = ("original", "darker", "dark", "low-light", "fog", "fog-real")


@dataclass(frozen=True)
class DataConfig:
    root: Path = Path("../shared/data/reid/uit_vehicle_reid_train")  # relative to the cwd
    layout: str | None = None  # None: detected from the folder
    test_split: str | None = None  # layout-specific test list (e.g. VehicleID 800/1600/2400)
    input_size: tuple[int, int] = (224, 224)  # (height, width) the network sees
    p: int = 12  # identities per batch
    k: int = 4  # images per identity (fewer on disk: sampled with replacement)

    def __post_init__(self) -> None:
        require(
            len(self.input_size) == 2 and min(self.input_size) >= 16,
            "data.input_size must be [height, width], each >= 16",
        )
        require(self.p >= 2 and self.k >= 2, "data.p and data.k must be >= 2")


@dataclass(frozen=True)
class OptimConfig:
    lr: float = 1e-4  # Adam
    weight_decay: float = 4e-4
    epochs: int = 40
    milestones: tuple[int, ...] = (10, 20, 30)  # epochs where the rate is multiplied by gamma
    gamma: float = 0.3
    warmup_epochs: int = 0  # linear warm-up from lr/10 over these epochs (BoT recipe: 10)
    iters_per_epoch: int | None = None  # cap on batches per epoch (smoke runs); None = all

    def __post_init__(self) -> None:
        require(self.lr > 0 and self.weight_decay >= 0, "optim.lr must be > 0, weight_decay >= 0")
        require(self.epochs >= 1, "optim.epochs must be >= 1")
        require(
            self.iters_per_epoch is None or self.iters_per_epoch >= 1,
            "optim.iters_per_epoch must be >= 1",
        )
        require(self.warmup_epochs >= 0, "optim.warmup_epochs must be >= 0")

    def lr_factor(self, epoch: int) -> float:
        """Learning-rate multiplier of epoch `epoch` (0-based): warm-up, then step decay."""
        if epoch < self.warmup_epochs:
            return 0.1 + 0.9 * epoch / self.warmup_epochs
        return self.gamma ** sum(epoch >= m for m in self.milestones)


@dataclass(frozen=True)
class EvalConfig:
    every: int = 5  # evaluate on the test/val split every this many epochs (and at the end)
    conditions: tuple[str, ...] = ("original", "dark")
    select: str = "original/mAP"  # "<condition>/<metric>" that picks best.pt
    batch_size: int = 64
    flip: bool = False  # average each image's embedding with its mirror image's

    def __post_init__(self) -> None:
        require(self.every >= 1, "eval.every must be >= 1")
        for c in self.conditions:
            require(c in EVAL_CONDITIONS, f"eval.conditions: {c!r} not in {list(EVAL_CONDITIONS)}")
        condition, _, metric = self.select.partition("/")
        require(
            condition in self.conditions and metric != "",
            "eval.select must be '<condition>/<metric>' with an evaluated condition",
        )


@dataclass(frozen=True)
class TrainConfig:
    method: str = "alsa"  # a key of reid.models.MODELS
    seed: int = 0
    threads: int = 2  # torch.set_num_threads
    device: str = "cpu"
    out_dir: Path = Path("runs/reid/alsa")
    resume: bool = True  # continue from out_dir/last.pt when it exists
    data: DataConfig = field(default_factory=DataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    fog: FogTrainConfig | None = None  # fog the training batches (+ a "real" stream); SJDL needs it
    # ALSA stage 1: train the EN with this recipe when model.alsa.en_weights is null
    enlighten: EnlightenConfig | None = None

    def __post_init__(self) -> None:
        require(
            self.method in MODELS and self.method in OBJECTIVES,
            f"method must be one of {sorted(set(MODELS) & set(OBJECTIVES))}, got {self.method!r}",
        )
        require(self.threads >= 1, "threads must be >= 1")
        if "rsk" in self.loss.terms:
            require(
                min(self.loss.rsk_ks) < self.data.p * self.data.k,
                "loss.rsk_ks needs some k below the batch size p*k",
            )
