"""The functional multimodal model: branches, a fusion layer and task heads."""

import keras

from mmkeras.models.compile_defaults import CompileDefaultsMixin
from mmkeras.models.dataset_fit import DatasetFitMixin
from mmkeras.tasks.task import Task

PRESENT = "present"


def _branch_outputs(outputs):
    """Splits a branch's output into (feature, sequence, sequence_mask)."""
    if isinstance(outputs, dict):
        return outputs["feature"], outputs.get("sequence"), outputs.get("sequence_mask")
    return outputs, None, None


def _with_presence(inputs):
    if isinstance(inputs, dict) and PRESENT not in inputs:
        return {**inputs, PRESENT: None}
    return inputs


def _uniquely_named(branch, key, taken):
    """Returns `branch`, or a view of it under a free name when its own name is taken.

    Layer names must be unique inside a model: two branches from one builder, or a branch named
    like an input, would clash. The view is a functional model over the branch's own layers (the
    weights are shared), so the caller's branch keeps its name.
    """
    if branch.name not in taken:
        taken.add(branch.name)
        return branch
    name, suffix = f"{key}_branch", 1
    while name in taken:
        suffix += 1
        name = f"{key}_branch_{suffix}"
    taken.add(name)
    return keras.Model(branch.input, branch.output, name=name)


def consumes_sequences(fusion):
    """Whether a fusion layer takes sequences and `sequence_masks` (see `mmkeras.layers.Fusion`).

    A layer that is not an `mmkeras.layers.Fusion` and does not set the attribute takes features.
    """
    return bool(getattr(fusion, "consumes_sequences", False))


def returns_attention_scores(fusion):
    """Whether a fusion layer returns `(fused, scores)` on `return_attention_scores=True`."""
    return bool(getattr(fusion, "returns_attention_scores", False))


@keras.saving.register_keras_serializable(package="mmkeras")
class PresenceOptionalModel(DatasetFitMixin, keras.Model):
    """A functional model whose optional `"present"` input may be left out of the data.

    Data without it means every modality is present. Both entry points fill it in: `__call__`
    checks inputs against the model's specs, and the JAX trainer's stateless path calls `call`.
    """

    def __call__(self, inputs, *args, **kwargs):
        return super().__call__(_with_presence(inputs), *args, **kwargs)

    # The explicit `training` argument matters: Keras inspects `call`'s signature to decide whether
    # `fit` passes `training=True` (batch norm statistics, dropout).
    def call(self, inputs, training=None, mask=None):
        return super().call(_with_presence(inputs), training=training, mask=mask)


@keras.saving.register_keras_serializable(package="mmkeras")
class MultimodalModel(CompileDefaultsMixin, PresenceOptionalModel):
    """A functional model joining per-modality branches with a fusion layer and task heads.

    Each branch is called on a `keras.Input` named after its key; their features go through the
    fusion layer (with the optional presence mask) and then through one head per task. The model
    also has an optional input `"present"`, shape `(batch, num_modalities)`, 1.0 where a modality
    is present, in the order of `branches`; when it is not given every modality counts as present.

    Most users call `mmkeras.build_model`, which validates its arguments, accepts strings for the
    fusion and compiles the model. The constructor takes built objects.

    Args:
        branches: dict `{input_name: keras.Model}`; each branch maps one raw input tensor to a
            feature `(batch, dim)`, or to a dict with `"feature"`, `"sequence"` and
            `"sequence_mask"` (built with `return_sequence=True`).
        fusion: a fusion layer from `mmkeras.layers`.
        tasks: a `mmkeras.tasks.Task`, or a dict `{output_name: Task}` for a multi-task model.
        modality_dropout: float in [0, 1), rate of `mmkeras.layers.ModalityDropout` applied to
            the presence mask during training (0 disables it).
        **kwargs: standard `keras.Model` arguments (`name`, `trainable`).

    Example:
    >>> image_branch = mmkeras.branches.image_cnn(input_shape=(32, 32, 3), output_dim=32)
    >>> text_branch = mmkeras.branches.text_rnn(vocab_size=50, output_dim=32)
    >>> model = mmkeras.models.MultimodalModel(
    ...     branches={"image": image_branch, "text": text_branch},
    ...     fusion=mmkeras.layers.GatedFusion(units=64),
    ...     tasks=mmkeras.tasks.Classification(num_classes=10))
    >>> sorted(model.input)
    ['image', 'present', 'text']
    >>> print(model.output.shape)
    (None, 10)
    """

    def __init__(self, branches, fusion, tasks, modality_dropout=0.0, **kwargs):
        single_task = isinstance(tasks, Task)
        task_dict = {tasks.name: tasks} if single_task else dict(tasks)

        # === Layers ===
        self.branches = dict(branches)
        self.fusion = fusion
        self.tasks = task_dict
        self.modality_dropout = float(modality_dropout)
        self.modalities = list(self.branches)
        self.single_task = single_task

        # === Functional Model ===
        inputs = {}
        features, sequences, sequence_masks = [], [], []
        taken = {*self.branches, PRESENT}
        for key, branch in self.branches.items():
            spec = branch.inputs[0]
            inputs[key] = keras.Input(shape=tuple(spec.shape[1:]), dtype=spec.dtype, name=key)
            node = _uniquely_named(branch, key, taken)
            feature, sequence, sequence_mask = _branch_outputs(node(inputs[key]))
            features.append(feature)
            sequences.append(sequence)
            sequence_masks.append(sequence_mask)
        present = keras.Input(
            shape=(len(self.branches),), dtype="float32", name=PRESENT, optional=True
        )
        mask = present
        if self.modality_dropout:
            from mmkeras.layers import ModalityDropout

            mask = ModalityDropout(self.modality_dropout, name="modality_dropout")(
                features, mask=present
            )

        fusion_kwargs = {"mask": mask}
        fusion_inputs = features
        if consumes_sequences(fusion):
            fusion_inputs = sequences
            fusion_kwargs["sequence_masks"] = sequence_masks
        if returns_attention_scores(fusion):
            fused, _ = fusion(fusion_inputs, return_attention_scores=True, **fusion_kwargs)
        else:
            fused = fusion(fusion_inputs, **fusion_kwargs)

        outputs = {name: task.build_head(fused) for name, task in self.tasks.items()}
        if single_task:
            outputs = outputs[tasks.name]
        super().__init__(inputs={**inputs, PRESENT: present}, outputs=outputs, **kwargs)

    def default_compile_arguments(self):
        """The tasks' losses and metrics (`task_compile_arguments`), for `compile_defaults`."""
        return self.task_compile_arguments()

    def task_compile_arguments(self):
        """`{"loss", "metrics", "loss_weights"}` of the tasks, as `compile_defaults` uses them.

        A model that trains this one (a `Distiller`) compiles with the same arguments.
        """
        if self.single_task:
            (task,) = self.tasks.values()
            return {"loss": task.loss, "metrics": task.metrics(), "loss_weights": None}
        return {
            "loss": {name: task.loss for name, task in self.tasks.items()},
            "metrics": {name: task.metrics() for name, task in self.tasks.items()},
            "loss_weights": {name: task.loss_weight for name, task in self.tasks.items()},
        }

    def attention_weights_model(self):
        """Returns a model from the same inputs to the fusion layer's weights per modality.

        Raises:
            ValueError: if the fusion layer does not produce attention weights.
        """
        if not returns_attention_scores(self.fusion):
            raise ValueError(
                f"The fusion layer {type(self.fusion).__name__} has no attention weights; "
                "use AttentionFusion or CrossModalAttention."
            )
        _, weights = self.fusion.output
        return PresenceOptionalModel(self.input, weights, name=f"{self.name}_attention")

    # === Config ===
    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "branches": {k: keras.layers.serialize(b) for k, b in self.branches.items()},
            "fusion": keras.layers.serialize(self.fusion),
            "tasks": (
                keras.saving.serialize_keras_object(next(iter(self.tasks.values())))
                if self.single_task
                else {k: keras.saving.serialize_keras_object(t) for k, t in self.tasks.items()}
            ),
            "modality_dropout": self.modality_dropout,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["branches"] = {
            k: keras.layers.deserialize(b, custom_objects=custom_objects)
            for k, b in config["branches"].items()
        }
        config["fusion"] = keras.layers.deserialize(config["fusion"], custom_objects=custom_objects)
        tasks = config["tasks"]
        if isinstance(tasks, dict) and "class_name" in tasks:
            config["tasks"] = keras.saving.deserialize_keras_object(tasks)
        else:
            config["tasks"] = {
                k: keras.saving.deserialize_keras_object(t) for k, t in tasks.items()
            }
        return cls(**config)
