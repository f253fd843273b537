"""`Distiller`: trains a student model on labels and a teacher's softened outputs."""

import keras
from keras import ops

from mmkeras.models.compile_defaults import CompileDefaultsMixin
from mmkeras.models.dataset_fit import DatasetFitMixin
from mmkeras.models.layer_arguments import LayerArgumentsMixin

PRESENT = "present"
_EPSILON = 1e-7


def _input_names(model):
    structure = model.input
    if isinstance(structure, dict):
        return list(structure)
    return [t.name.split(":")[0] for t in model.inputs]


_KINDS = ("auto", "softmax", "sigmoid", "mse")


def _softmax_logits(probabilities):
    # The log of a softmax output differs from its logits by a per-sample constant, which a
    # softmax ignores, so softening it with a temperature is exact.
    return ops.log(ops.clip(probabilities, _EPSILON, 1.0))


def _sigmoid_logits(probabilities):
    p = ops.clip(probabilities, _EPSILON, 1.0 - _EPSILON)
    return ops.log(p) - ops.log(1.0 - p)


def _output_kinds(student, soft_target):
    """Soft-loss kind per output name (or under None for a single output)."""
    tasks = getattr(student, "tasks", None)
    if soft_target != "auto" or not isinstance(tasks, dict):
        return {None: "softmax" if soft_target == "auto" else soft_target}
    by_activation = {"softmax": "softmax", "sigmoid": "sigmoid", "linear": "mse"}
    kinds = {name: by_activation.get(task.activation, "mse") for name, task in tasks.items()}
    if getattr(student, "single_task", False):
        return {None: next(iter(kinds.values()))}
    return kinds


@keras.saving.register_keras_serializable(package="mmkeras")
class Distiller(CompileDefaultsMixin, LayerArgumentsMixin, DatasetFitMixin, keras.Model):
    """Knowledge distillation: a student learns from labels and from a trained teacher.

    The loss blends the student's own task loss on the labels with the Kullback-Leibler
    divergence between the teacher's and the student's outputs softened by `temperature`:

        loss = alpha * task_loss(y, student) + (1 - alpha) * T^2 * KL(teacher_T || student_T)

    (the `T^2` factor keeps the gradient scale of the soft term independent of `T`). For
    regression outputs the soft term is the mean squared error to the teacher's prediction.

    The teacher is frozen. Each model receives the inputs it declares from the same batch dict,
    so a student may use fewer modalities than the teacher. When the batch has a `"present"`
    mask and `modalities` names its columns, each model gets the columns of its own branches.

    Use it with `model.fit` like any model; `distiller.student` is the model to keep.

    Args:
        student: a `keras.Model` (e.g. from `mmkeras.build_model`) to train.
        teacher: a trained `keras.Model` with the same output structure.
        temperature: float > 0, softening temperature.
        alpha: float in [0, 1], weight of the label loss (1 - alpha goes to the teacher).
        soft_target: how outputs are compared: `"auto"` (from the student's tasks: softmax
            outputs by KL over classes, sigmoid outputs by per-unit Bernoulli KL, linear
            outputs by mean squared error; softmax for other models), or one of `"softmax"`,
            `"sigmoid"`, `"mse"`.
        modalities: optional list of input names, the order of the columns of the batch's
            `"present"` mask (the pipeline's input order).
        **kwargs: standard `keras.Model` arguments (`name`).

    Example:
    >>> teacher = model  # image + text + audio, trained
    >>> student = mmkeras.build_model(  # image only
    ...     branches={"image": mmkeras.branches.image_cnn(input_shape=(32, 32, 3), filters=(4,))},
    ...     task=mmkeras.tasks.Classification(num_classes=2))
    >>> distiller = mmkeras.models.Distiller(student, teacher, temperature=4.0, alpha=0.3)
    >>> distiller.compile(optimizer="adam", loss=student.loss, metrics=["accuracy"])
    >>> history = distiller.fit(train_ds, epochs=1, verbose=0)
    >>> sorted(history.history)
    ['accuracy', 'loss']
    >>> distiller.student.save("student.keras")
    """

    layer_arguments = ("student", "teacher")

    def __init__(
        self,
        student,
        teacher,
        temperature=4.0,
        alpha=0.5,
        soft_target="auto",
        modalities=None,
        **kwargs,
    ):
        kwargs.setdefault("name", "distiller")
        super().__init__(**kwargs)
        if not isinstance(student, keras.Model) or not isinstance(teacher, keras.Model):
            raise TypeError(
                "Distiller `student` and `teacher` must be keras.Model instances, received "
                f"{type(student).__name__} and {type(teacher).__name__}."
            )
        if not float(temperature) > 0:
            raise ValueError(f"Distiller `temperature` must be > 0, received {temperature!r}.")
        if not 0.0 <= float(alpha) <= 1.0:
            raise ValueError(f"Distiller `alpha` must be in [0, 1], received {alpha!r}.")
        if soft_target not in _KINDS:
            raise ValueError(
                f"Distiller `soft_target` must be one of {_KINDS}, received {soft_target!r}."
            )
        if modalities is not None and (
            not isinstance(modalities, list | tuple)
            or not all(isinstance(m, str) for m in modalities)
        ):
            raise ValueError(
                f"Distiller `modalities` must be a list of input names, received {modalities!r}."
            )
        self.student = student
        self.teacher = teacher
        self.teacher.trainable = False
        self.temperature = float(temperature)
        self.alpha = float(alpha)
        self.soft_target = soft_target
        self.modalities = None if modalities is None else list(modalities)
        self._kinds = _output_kinds(student, soft_target)
        self._student_names = _input_names(student)
        self._teacher_names = _input_names(teacher)
        # Both models are built functional models, so the distiller owns built weights already.
        self.built = True

    def _inputs_for(self, model, names, x):
        if not isinstance(x, dict):
            return x
        selected = {}
        for name in names:
            if name == PRESENT:
                continue
            if name not in x:
                raise ValueError(
                    f"Distiller: {model.name} needs input {name!r}, which the batch lacks; "
                    f"the batch has {sorted(x)}."
                )
            selected[name] = x[name]
        if PRESENT in names and PRESENT in x:
            own = [n for n in names if n != PRESENT]
            if self.modalities is not None and own != self.modalities:
                missing = [n for n in own if n not in self.modalities]
                if missing:
                    raise ValueError(
                        f"Distiller: `modalities` {self.modalities} lacks {missing}, inputs of "
                        f"{model.name}."
                    )
                columns = [self.modalities.index(n) for n in own]
                selected[PRESENT] = ops.take(x[PRESENT], columns, axis=1)
            else:
                selected[PRESENT] = x[PRESENT]
        return selected

    def call(self, inputs, training=None):
        return self.student(
            self._inputs_for(self.student, self._student_names, inputs), training=training
        )

    def teacher_predict(self, inputs):
        """The frozen teacher's outputs for a batch dict."""
        return self.teacher(
            self._inputs_for(self.teacher, self._teacher_names, inputs), training=False
        )

    def _soft_loss(self, teacher_out, student_out, kind):
        teacher_out = ops.stop_gradient(ops.cast(teacher_out, "float32"))
        student_out = ops.cast(student_out, "float32")
        if kind == "mse":
            return ops.mean(ops.square(teacher_out - student_out))
        t = self.temperature
        if kind == "sigmoid":
            teacher_p = ops.sigmoid(_sigmoid_logits(teacher_out) / t)
            student_p = ops.sigmoid(_sigmoid_logits(student_out) / t)
            teacher_p = ops.clip(teacher_p, _EPSILON, 1.0 - _EPSILON)
            student_p = ops.clip(student_p, _EPSILON, 1.0 - _EPSILON)
            kl = teacher_p * (ops.log(teacher_p) - ops.log(student_p)) + (1.0 - teacher_p) * (
                ops.log(1.0 - teacher_p) - ops.log(1.0 - student_p)
            )
            return ops.mean(ops.sum(kl, axis=-1)) * (t * t)
        teacher_probs = ops.softmax(_softmax_logits(teacher_out) / t, axis=-1)
        student_log_probs = ops.log_softmax(_softmax_logits(student_out) / t, axis=-1)
        teacher_log_probs = ops.log(ops.clip(teacher_probs, _EPSILON, 1.0))
        kl = ops.sum(teacher_probs * (teacher_log_probs - student_log_probs), axis=-1)
        return ops.mean(kl) * (t * t)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        hard = super().compute_loss(
            x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training
        )
        teacher_out = self.teacher_predict(x)
        if isinstance(y_pred, dict):
            default = self._kinds.get(None, "softmax")
            terms = [
                self._soft_loss(teacher_out[k], y_pred[k], self._kinds.get(k, default))
                for k in y_pred
            ]
            soft = sum(terms) / len(terms)
        else:
            soft = self._soft_loss(teacher_out, y_pred, self._kinds.get(None, "softmax"))
        return self.alpha * hard + (1.0 - self.alpha) * soft

    def default_compile_arguments(self):
        """The student's task losses and metrics, for `compile_defaults` (Adam at `learning_rate`).

        The label loss is the student's own (`student.task_compile_arguments()`, as the
        student's `compile_defaults` uses); the teacher term is added in `compute_loss`.

        Raises:
            ValueError: the student does not say how it compiles (it is not a model from
                `mmkeras.build_model`); call `compile` with its loss instead.
        """
        arguments = getattr(self.student, "task_compile_arguments", None)
        if arguments is None:
            raise ValueError(
                f"Distiller.compile_defaults: the student {self.student.name!r} "
                f"({type(self.student).__name__}) has no task losses to compile with; call "
                "distiller.compile(optimizer=..., loss=..., metrics=...) instead."
            )
        return arguments()

    def compute_output_shape(self, input_shape):
        return self.student.compute_output_shape(input_shape)

    # === Config ===
    def get_config(self):
        return {
            "name": self.name,
            **self.serialized_layers(),
            "temperature": self.temperature,
            "alpha": self.alpha,
            "soft_target": self.soft_target,
            "modalities": self.modalities,
        }
