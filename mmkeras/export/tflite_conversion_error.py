"""`TFLiteConversionError`: a model (or signature) TFLite cannot run, with the ops to blame."""


class TFLiteConversionError(ValueError):
    """Raised when TFLite conversion fails; `ops` lists the TensorFlow ops it could not convert.

    Args:
        message: str, what failed and what to do instead.
        ops: list of op names (for example `["tf.CaseFoldUTF8", "tf.DecodeImage"]`).
    """

    def __init__(self, message, ops=()):
        super().__init__(message)
        self.ops = list(ops)
