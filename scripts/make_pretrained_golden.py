"""Writes tests/data/pretrained/<family>/: tiny random HF checkpoints and reference outputs.

For each pretrained family mmkeras reads (image: ViT, DeiT, DINOv2, the CLIP and SigLIP vision
towers; text: RoBERTa, XLM-RoBERTa, the CLIP and SigLIP text towers; audio: the Whisper encoder,
wav2vec2, HuBERT) it writes a folder laid out like a hub repository: `config.json` and
`model.safetensors` of a tiny randomly initialised model, the preprocessor or tokenizer files, and
`golden.json` with raw inputs, what the Hugging Face preprocessor makes of them and what the model
outputs. The tests compare mmkeras with these files and need neither PyTorch nor transformers.

The models are small (hidden size 32, two layers, four heads, an intermediate size of 37) but keep
each family's layer-norm epsilon, activation and layout. Every weight is drawn at random
(layer-norm scales and biases, position tables and special tokens too), so a missing bias or a
transposed kernel changes the outputs; the layers that feed each model's first normalisation are
scaled down so that its input variance is near 1e-6, where the epsilon matters. The script checks
that another epsilon (1e-12, 1e-6, 1e-5) or another GELU variant would move the outputs by at least
MIN_SENSITIVITY and records by how much. The tokenizers are trained here on a small corpus written
for the purpose. Everything is seeded; a rerun with the same library versions rewrites the same
bytes. tests/data/pretrained/README.md says what each folder holds. Run, where the libraries are
installed (no network is needed):

    pip install torch transformers tokenizers safetensors sentencepiece protobuf pillow
    python scripts/make_pretrained_golden.py            # every family
    python scripts/make_pretrained_golden.py vit clip   # only these
"""

import base64
import io
import json
import os
import shutil
import sys
import tempfile

import numpy as np

ROOT = os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "pretrained")
)
SEED = 1234

# Shared tiny sizes. 37 is odd and prime, so a transposed or mis-reshaped kernel cannot go unnoticed.
HIDDEN = 32
LAYERS = 2
HEADS = 4
INTERMEDIATE = 37
INIT_STD = 0.2
SMALL_SCALE = 1e-3
# The goldens must tell these apart: the outputs move by at least MIN_SENSITIVITY when the
# model's layer-norm epsilon or activation is replaced by another of these.
EPSILONS = (1e-12, 1e-6, 1e-5)
ACTIVATIONS = ("gelu", "gelu_pytorch_tanh", "quick_gelu")
MIN_SENSITIVITY = 3e-4

IMAGE_SIZE = 32
PATCH_SIZE = 8
NUM_IMAGES = 2

MAX_LENGTH = 16

SAMPLING_RATE = 16000
DURATIONS = (1.0, 0.37)
WAVEFORM_SCALE = 1.0 / 32768.0  # waveforms are stored as int16; float = int16 * WAVEFORM_SCALE

# Inputs for the text towers. Between them they cover an empty string, accents, emoji, CJK, a text
# longer than MAX_LENGTH tokens (truncation), every family's special tokens written out literally,
# and case and whitespace that the tokenizers normalise (full-width letters, a ligature, a tab, a
# newline, a no-break space).
SENTENCES = [
    "A man is playing a guitar on stage.",
    "",
    "Café déjà vu: naïve résumé, Ångström and İstanbul",
    "I love 🍕 and 🎉!! 👨\u200d👩\u200d👧",
    "東京は日本の首都です。北京欢迎你！서울",
    "the small dog runs in the park " * 6,
    "<s> </s> <pad> <mask> <unk> x",
    "<|startoftext|> a <|endoftext|> b </s> c",
    "  ＦＵＬＬ ﬁne\tMixed   CASE\nnew\u00a0lines  ",
]

# The corpus the tiny tokenizers are trained on: short sentences in several scripts, written for
# these files.
CORPUS = [
    "A man is playing a guitar on stage.",
    "A woman is playing the piano in a small room.",
    "The small dog runs in the park every morning.",
    "Two children are reading a book under a tree.",
    "The train leaves the station at seven o'clock.",
    "We're sure it's going to rain; they'll stay home and we'd go out.",
    "Numbers like 12, 345 and 6789 appear in prices: $5.00 or 3.50 euros.",
    "A cat sleeps on the warm window sill while birds sing outside.",
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Photographs of mountains, lakes and forests hang on the wall.",
    "Le chat dort sur le canapé pendant que la pluie tombe.",
    "Un café au lait et un croissant, s'il vous plaît.",
    "Das Mädchen liest ein Buch über die Geschichte der Städte.",
    "Die Straße ist nass, weil es die ganze Nacht geregnet hat.",
    "El niño juega con la pelota en el jardín de la casa.",
    "¿Dónde está la estación de tren más cercana?",
    "O menino come pão com manteiga todas as manhãs.",
    "Η γάτα κοιμάται στον καναπέ.",
    "Кошка спит на диване у окна.",
    "猫はソファの上で寝ています。",
    "東京の電車はとても混んでいます。",
    "我们明天去北京看长城。",
    "今天天气很好，我们去公园散步吧。",
    "고양이가 소파 위에서 자고 있어요.",
    "서울은 한국의 수도입니다.",
    "the park is green and the sky is blue",
    "a photo of a dog, a photo of a cat, a photo of a bird",
    "music, speech and silence make up the sounds of the city",
    "stage lights shine on the guitar player and the singer",
    "résumé, naïve, déjà vu and façade are words with accents",
]


# --- Encoding of arrays in golden.json -------------------------------------------------------


def significant(array, digits=7):
    """Nested lists of floats rounded to `digits` significant digits (model outputs)."""
    if hasattr(array, "detach"):
        array = array.detach().numpy()
    array = np.asarray(array, dtype=np.float64)
    flat = np.array([float(f"{value:.{digits}g}") for value in array.ravel()])
    return flat.reshape(array.shape).tolist()


def packed(array, dtype):
    """An exact array as `{"dtype", "shape", "base64"}`, little-endian (inputs and features)."""
    array = np.ascontiguousarray(np.asarray(array).astype(np.dtype(dtype).newbyteorder("<")))
    return {
        "dtype": np.dtype(dtype).name,
        "shape": list(array.shape),
        "base64": base64.b64encode(array.tobytes()).decode("ascii"),
    }


def write_golden(folder, golden):
    with open(os.path.join(folder, "golden.json"), "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=True, indent=None, separators=(",", ":"))
        f.write("\n")


# --- Models ----------------------------------------------------------------------------------


def randomize(model, seed, small=()):
    """Redraws every weight so none keeps a neutral value (zero bias, unit scale, zero token).

    Scales (norm weights, DINOv2's layer scale, the magnitude of a weight-normed kernel) are drawn
    around one, everything else around zero, all with INIT_STD. Parameters whose names start
    with one of `small` (the layers that feed the first normalisation) are further multiplied by
    SMALL_SCALE: a normalisation is blind to the scale of its input except through epsilon, so
    an input variance near 1e-6 makes the wrong epsilon show, and nothing else changes.
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    norms = (torch.nn.LayerNorm, torch.nn.GroupNorm)
    owners = {}
    for module_name, module in model.named_modules():
        for name, _ in module.named_parameters(recurse=False):
            owners[f"{module_name}.{name}" if module_name else name] = module
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator) * INIT_STD
            leaf = name.rsplit(".", 1)[-1]
            is_scale = (
                (isinstance(owners[name], norms) and leaf == "weight")
                or leaf == "lambda1"
                or name.endswith("parametrizations.weight.original0")
            )
            value = noise + 1.0 if is_scale else noise
            if name.startswith(tuple(small)):
                value = value * SMALL_SCALE
            parameter.copy_(value)
        for prefix in small:
            if not any(name.startswith(prefix) for name, _ in model.named_parameters()):
                raise RuntimeError(f"no parameter starts with {prefix!r}")


def sensitivity(model, forward, epsilon, activation):
    """How far the outputs move if the epsilon or the activation were another common choice.

    `forward()` returns the outputs as a list of tensors. Every LayerNorm/GroupNorm epsilon is
    set to each of EPSILONS but the model's own, then every `activation` module is swapped for
    each of ACTIVATIONS but its own; the largest absolute change of any output is recorded.
    Raises if one of them moves the outputs by less than MIN_SENSITIVITY.
    """
    import torch
    from transformers.activations import ACT2CLS, ACT2FN

    def change():
        with torch.no_grad():
            return max((a - b).abs().max().item() for a, b in zip(forward(), base, strict=True))

    with torch.no_grad():
        base = forward()
    changes = {}
    norms = [m for m in model.modules() if isinstance(m, (torch.nn.LayerNorm, torch.nn.GroupNorm))]
    if {m.eps for m in norms} != {epsilon}:
        raise RuntimeError(f"expected every norm to use epsilon {epsilon}")
    for other in EPSILONS:
        if other != epsilon:
            for module in norms:
                module.eps = other
            changes[f"layer_norm_eps={other:g}"] = change()
            for module in norms:
                module.eps = epsilon
    own = ACT2CLS[activation]
    own = own[0] if isinstance(own, tuple) else own
    slots = [
        (parent, name)
        for parent in model.modules()
        for name, child in parent.named_children()
        if type(child) is own
    ]
    if not slots:
        raise RuntimeError(f"no {activation} activation modules found")
    for other in ACTIVATIONS:
        if other != activation:
            originals = [getattr(parent, name) for parent, name in slots]
            for parent, name in slots:
                setattr(parent, name, ACT2FN[other])
            changes[f"activation={other}"] = change()
            for (parent, name), original in zip(slots, originals, strict=True):
                setattr(parent, name, original)
    weakest = min(changes, key=changes.get)
    if changes[weakest] < MIN_SENSITIVITY:
        raise RuntimeError(f"{weakest} moves the outputs by only {changes[weakest]:.2g}")
    return {key: float(f"{value:.3g}") for key, value in changes.items()}


def save_and_reload(model, folder, **model_kwargs):
    """Saves the model as a hub repository holds it and returns the copy read back from disk."""
    import torch
    from transformers import AutoModel

    model.save_pretrained(folder, safe_serialization=True)
    reloaded = AutoModel.from_pretrained(folder, **model_kwargs).eval()
    if type(reloaded) is not type(model):
        raise RuntimeError(f"{folder}: reloaded as {type(reloaded).__name__}")
    saved, read = model.state_dict(), reloaded.state_dict()
    for key, value in saved.items():
        if not torch.equal(value, read[key]):
            raise RuntimeError(f"{folder}: {key} changed on the round trip")
    return reloaded


def use_legacy_weight_norm_names(model, folder):
    """Rewrites the checkpoint with weight-norm tensors named `weight_g` / `weight_v`.

    transformers 5 saves a fresh model's weight-normed convolution as
    `parametrizations.weight.original0` / `original1`; released wav2vec2 checkpoints name them
    `weight_g` / `weight_v`. transformers reads the old names, and a model read from them is
    saved back with them; this writes the old layout that way and returns the model read back.
    """
    import torch
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file
    from transformers import AutoModel

    path = os.path.join(folder, "model.safetensors")
    legacy = {
        name.replace(".parametrizations.weight.original0", ".weight_g").replace(
            ".parametrizations.weight.original1", ".weight_v"
        ): tensor
        for name, tensor in load_file(path).items()
    }
    save_file(legacy, path, metadata={"format": "pt"})
    reloaded = AutoModel.from_pretrained(folder).eval()
    for key, value in model.state_dict().items():
        if not torch.equal(value, reloaded.state_dict()[key]):
            raise RuntimeError(f"{folder}: {key} changed on the round trip")
    reloaded.save_pretrained(folder, safe_serialization=True)
    with safe_open(path, "np") as saved:
        if not any(name.endswith(".weight_g") for name in saved.keys()):
            raise RuntimeError(f"{folder}: transformers did not keep weight_g / weight_v")
    return reloaded


def reference_versions():
    import sentencepiece
    import tokenizers
    import torch
    import transformers

    return (
        f"transformers {transformers.__version__}, torch {torch.__version__}, "
        f"tokenizers {tokenizers.__version__}, sentencepiece {sentencepiece.__version__}"
    )


def fresh_folder(family):
    folder = os.path.join(ROOT, family)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    return folder


# --- Images ----------------------------------------------------------------------------------


def make_images(seed, size, count=NUM_IMAGES):
    """uint8 RGB images (count, size, size, 3): a colour gradient plus noise, different per channel."""
    rng = np.random.default_rng(seed)
    rows = np.linspace(0.0, 1.0, size)[:, None]
    cols = np.linspace(0.0, 1.0, size)[None, :]
    images = []
    for index in range(count):
        channels = [
            180 * rows + 40 * index,
            200 * cols,
            120 * (1 - rows) * cols + 60,
        ]
        image = np.stack(np.broadcast_arrays(*channels), axis=-1)
        image = image + rng.normal(0, 40, (size, size, 3))
        images.append(np.clip(np.round(image), 0, 255).astype(np.uint8))
    return np.stack(images)


def run_image_processor(processor, images, expected_size):
    """The processor's pixel values, checked to be a plain rescale + normalise (no resampling)."""
    pixel_values = processor(list(images), return_tensors="np")["pixel_values"].astype(np.float32)
    if pixel_values.shape != (len(images), 3, expected_size, expected_size):
        raise RuntimeError(f"unexpected pixel_values shape {pixel_values.shape}")
    height = images.shape[1]
    top = (height - expected_size) // 2
    crop = images[:, top : top + expected_size, top : top + expected_size]
    mean = np.asarray(processor.image_mean, np.float32)
    std = np.asarray(processor.image_std, np.float32)
    manual = (crop.astype(np.float32) * np.float32(processor.rescale_factor) - mean) / std
    error = np.abs(manual.transpose(0, 3, 1, 2) - pixel_values).max()
    if error > 1e-5:
        raise RuntimeError(f"the image processor did more than rescale and normalise: {error}")
    return pixel_values


def image_golden(family, model_class, images, pixel_values, note):
    return {
        "family": family,
        "model_class": model_class,
        "reference": reference_versions(),
        "note": note,
        "resized": False,
        "images": packed(images, "uint8"),
        "pixel_values": packed(pixel_values, "float32"),
    }


def make_vit(seed):
    import torch
    from transformers import ViTConfig, ViTImageProcessor, ViTModel

    folder = fresh_folder("vit")
    torch.manual_seed(seed)
    config = ViTConfig(
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=INTERMEDIATE,
        image_size=IMAGE_SIZE,
        patch_size=PATCH_SIZE,
        initializer_range=INIT_STD,
        layer_norm_eps=1e-12,
        hidden_act="gelu",
        qkv_bias=True,
    )
    model = ViTModel(config, add_pooling_layer=True).eval()
    randomize(model, seed, small=["embeddings."])
    model = save_and_reload(model, folder)
    # As google/vit-base-patch16-224-in21k: mean = std = 0.5, bilinear; the images are already at
    # the processor's size, so the resize step changes nothing.
    processor = ViTImageProcessor(
        size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
        resample=2,
    )
    processor.save_pretrained(folder)
    images = make_images(seed, IMAGE_SIZE)
    pixel_values = run_image_processor(processor, images, IMAGE_SIZE)
    pixels = torch.from_numpy(pixel_values)
    with torch.no_grad():
        out = model(pixel_values=pixels)
    checks = sensitivity(model, lambda: list(model(pixel_values=pixels)[:2]), 1e-12, "gelu")
    golden = image_golden(
        "vit",
        "ViTModel(add_pooling_layer=True)",
        images,
        pixel_values,
        "Images are at the processor's size: pixel_values = (images / 255 - 0.5) / 0.5, "
        "channels first. last_hidden_state is after the final layernorm (class token first); "
        "pooler_output = tanh(dense(last_hidden_state[:, 0])).",
    )
    golden["last_hidden_state"] = significant(out.last_hidden_state)
    golden["pooler_output"] = significant(out.pooler_output)
    golden["sensitivity"] = checks
    write_golden(folder, golden)


def make_deit(seed):
    import torch
    from transformers import DeiTConfig, DeiTImageProcessor, DeiTModel

    folder = fresh_folder("deit")
    torch.manual_seed(seed)
    config = DeiTConfig(
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=INTERMEDIATE,
        image_size=IMAGE_SIZE,
        patch_size=PATCH_SIZE,
        initializer_range=INIT_STD,
        layer_norm_eps=1e-12,
        hidden_act="gelu",
        qkv_bias=True,
    )
    # Released DeiT checkpoints (DeiTForImageClassificationWithTeacher) carry no pooler.
    model = DeiTModel(config, add_pooling_layer=False).eval()
    randomize(model, seed, small=["embeddings."])
    model = save_and_reload(model, folder, add_pooling_layer=False)
    # As facebook/deit-*-distilled-patch16-224 (ImageNet mean/std, bicubic), with resize and crop
    # at the image size so neither changes the pixels.
    processor = DeiTImageProcessor(
        size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        image_mean=[0.485, 0.456, 0.406],
        image_std=[0.229, 0.224, 0.225],
        resample=3,
    )
    processor.save_pretrained(folder)
    images = make_images(seed, IMAGE_SIZE)
    pixel_values = run_image_processor(processor, images, IMAGE_SIZE)
    pixels = torch.from_numpy(pixel_values)
    with torch.no_grad():
        out = model(pixel_values=pixels)
    checks = sensitivity(model, lambda: [model(pixel_values=pixels)[0]], 1e-12, "gelu")
    golden = image_golden(
        "deit",
        "DeiTModel(add_pooling_layer=False)",
        images,
        pixel_values,
        "Images are at the processor's size: pixel_values = (images / 255 - mean) / std with "
        "ImageNet mean and std, channels first. last_hidden_state is after the final layernorm; "
        "position 0 is the class token, position 1 the distillation token, then the patches.",
    )
    golden["last_hidden_state"] = significant(out.last_hidden_state)
    golden["sensitivity"] = checks
    write_golden(folder, golden)


def make_dinov2(seed):
    import torch
    from transformers import BitImageProcessor, Dinov2Config, Dinov2Model

    folder = fresh_folder("dinov2")
    torch.manual_seed(seed)
    patch, checkpoint_size, crop = 4, IMAGE_SIZE, 28
    config = Dinov2Config(
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        mlp_ratio=4,
        image_size=checkpoint_size,
        patch_size=patch,
        initializer_range=INIT_STD,
        layer_norm_eps=1e-6,
        hidden_act="gelu",
        qkv_bias=True,
        layerscale_value=1.0,
    )
    model = Dinov2Model(config).eval()
    randomize(model, seed, small=["embeddings."])
    model = save_and_reload(model, folder)
    # As facebook/dinov2-*: resize the shortest edge, centre-crop, ImageNet mean/std. The images
    # are at the resize size, so only the crop (32 -> 28) changes them. The crop has 7x7 patches
    # while the checkpoint's position table has 8x8, so the model interpolates the table, as the
    # released models do (518 px table, 224 px crops).
    processor = BitImageProcessor(
        size={"shortest_edge": checkpoint_size},
        crop_size={"height": crop, "width": crop},
        do_center_crop=True,
        image_mean=[0.485, 0.456, 0.406],
        image_std=[0.229, 0.224, 0.225],
        resample=3,
    )
    processor.save_pretrained(folder)
    images = make_images(seed, checkpoint_size)
    pixel_values = run_image_processor(processor, images, crop)
    uncropped = BitImageProcessor(
        size={"shortest_edge": checkpoint_size},
        do_center_crop=False,
        image_mean=processor.image_mean,
        image_std=processor.image_std,
        resample=3,
    )
    full_pixel_values = run_image_processor(uncropped, images, checkpoint_size)
    pixels, full_pixels = torch.from_numpy(pixel_values), torch.from_numpy(full_pixel_values)
    with torch.no_grad():
        out = model(pixel_values=pixels)
        full = model(pixel_values=full_pixels)
    checks = sensitivity(
        model,
        lambda: [model(pixel_values=pixels)[0], model(pixel_values=full_pixels)[0]],
        1e-6,
        "gelu",
    )
    golden = image_golden(
        "dinov2",
        "Dinov2Model",
        images,
        pixel_values,
        f"Images are {checkpoint_size}x{checkpoint_size}, the resize size; the processor "
        f"centre-crops them to {crop}x{crop} (offset 2) and normalises with ImageNet mean/std. "
        f"The checkpoint's image_size is {checkpoint_size} (8x8 patches of {patch}), so the "
        f"{crop}x{crop} crop needs the position table interpolated to 7x7 (bicubic, "
        "align_corners=False, no antialias). last_hidden_state is after the final layernorm; "
        "pooler_output = last_hidden_state[:, 0]. checkpoint_size_* hold the same for the "
        "uncropped images, where no interpolation happens.",
    )
    golden["checkpoint_image_size"] = checkpoint_size
    golden["last_hidden_state"] = significant(out.last_hidden_state)
    golden["pooler_output"] = significant(out.pooler_output)
    golden["checkpoint_size_pixel_values"] = packed(full_pixel_values, "float32")
    golden["checkpoint_size_last_hidden_state"] = significant(full.last_hidden_state)
    golden["checkpoint_size_pooler_output"] = significant(full.pooler_output)
    golden["sensitivity"] = checks
    write_golden(folder, golden)


# --- Tokenizers ------------------------------------------------------------------------------


def train_roberta_tokenizer(folder):
    """Byte-level BPE as RoBERTa's: <s>=0, <pad>=1, </s>=2, <unk>=3, <mask> the last id."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import AddedToken, RobertaTokenizer

    trainer = ByteLevelBPETokenizer(add_prefix_space=False, lowercase=False)
    trainer.train_from_iterator(
        CORPUS,
        vocab_size=420,
        min_frequency=2,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
        show_progress=False,
    )
    with tempfile.TemporaryDirectory() as raw:
        trainer.save_model(raw)
        with open(os.path.join(raw, "vocab.json"), encoding="utf-8") as f:
            vocab = json.load(f)
        vocab["<mask>"] = len(vocab)
        with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
            json.dump(vocab, f, ensure_ascii=False, separators=(",", ":"))
        shutil.copyfile(os.path.join(raw, "merges.txt"), os.path.join(folder, "merges.txt"))
    tokenizer = RobertaTokenizer(
        vocab=os.path.join(folder, "vocab.json"),
        merges=os.path.join(folder, "merges.txt"),
        # As roberta-base: "<mask>" swallows the space before it.
        mask_token=AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True),
        model_max_length=MAX_LENGTH,
    )
    tokenizer.save_pretrained(folder)
    return tokenizer


def normalization_rules(path):
    """Writes SentencePiece's nmt_nfkc rules for the characters these files can meet, as a TSV.

    The released XLM-R and SigLIP models normalise with nmt_nfkc (NFKC, control characters
    dropped, odd spaces made plain). Its full table would add 240 KB to each model; this subset
    covers Latin, general and CJK punctuation, ligatures, full-width forms and every character of
    CORPUS and SENTENCES, so on those the result is the same.
    """
    import sentencepiece

    normalizer = sentencepiece.SentencePieceNormalizer(
        rule_name="nmt_nfkc",
        add_dummy_prefix=False,
        escape_whitespaces=False,
        remove_extra_whitespaces=False,
    )
    chars = set("".join(CORPUS + SENTENCES))
    for low, high in [
        (0, 0x24F),
        (0x2000, 0x206F),
        (0x3000, 0x303F),
        (0xFB00, 0xFB06),
        (0xFF01, 0xFF5E),
    ]:
        chars.update(chr(code) for code in range(low, high + 1))
    with open(path, "w", encoding="ascii") as f:
        for char in sorted(chars):
            target = normalizer.normalize(char)
            if target != char:
                f.write(f"{ord(char):X}\t{' '.join(f'{ord(c):X}' for c in target)}\n")
    full = sentencepiece.SentencePieceNormalizer(rule_name="nmt_nfkc")
    subset = sentencepiece.SentencePieceNormalizer(rule_tsv=path)
    for text in CORPUS + SENTENCES:
        if full.normalize(text) != subset.normalize(text):
            raise RuntimeError(f"the rule subset normalises {text!r} differently")


def train_sentencepiece(vocab_size, **ids):
    """A unigram SentencePiece model (bytes of its proto) trained on CORPUS."""
    import sentencepiece
    from sentencepiece import sentencepiece_model_pb2

    model = io.BytesIO()
    with tempfile.TemporaryDirectory() as scratch:
        rules = os.path.join(scratch, "nmt_nfkc_subset.tsv")
        normalization_rules(rules)
        sentencepiece.SentencePieceTrainer.train(
            sentence_iterator=iter(CORPUS),
            model_writer=model,
            model_type="unigram",
            vocab_size=vocab_size,
            hard_vocab_limit=False,
            character_coverage=1.0,
            normalization_rule_tsv=rules,
            num_threads=1,
            shuffle_input_sentence=False,
            minloglevel=2,
            **ids,
        )
    # The proto records where the rule file was; drop that so reruns write the same bytes.
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(model.getvalue())
    proto.normalizer_spec.ClearField("normalization_rule_tsv")
    return proto.SerializeToString()


def train_xlm_roberta_tokenizer(folder):
    """SentencePiece as XLM-R's (unigram, file named sentencepiece.bpe.model), fairseq ids."""
    from transformers import AutoTokenizer

    proto = train_sentencepiece(300, unk_id=0, bos_id=1, eos_id=2, pad_id=-1)
    with open(os.path.join(folder, "sentencepiece.bpe.model"), "wb") as f:
        f.write(proto)
    tokenizer = AutoTokenizer.from_pretrained(
        folder, tokenizer_type="xlm-roberta", model_max_length=MAX_LENGTH
    )
    tokenizer.save_pretrained(folder)
    return tokenizer


def check_fairseq_ids(folder, input_ids, attention_mask):
    """The tokenizer's ids are SentencePiece's shifted by one, between <s> and </s>."""
    import sentencepiece

    processor = sentencepiece.SentencePieceProcessor(
        model_file=os.path.join(folder, "sentencepiece.bpe.model")
    )
    for text, ids, mask in zip(SENTENCES, input_ids.tolist(), attention_mask.tolist(), strict=True):
        if "<" in text:  # literal special tokens: the tokenizer matches them first
            continue
        pieces = [i + 1 if i > 0 else 3 for i in processor.encode(text)][: MAX_LENGTH - 2]
        if ids[: sum(mask)] != [0, *pieces, 2]:
            raise RuntimeError(f"{text!r}: {ids} is not SentencePiece's {pieces}")


def bytes_to_unicode():
    """GPT-2's reversible map from bytes to printable characters (the byte-level alphabet)."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(code) for code in codes), strict=True))


def learn_bpe(words, min_frequency=2, max_merges=160):
    """Merges learned from `words` ({tuple of symbols: count}), most frequent pair first.

    Ties go to the smallest pair, so the result never depends on iteration order. A pair whose
    merged string is already a symbol is skipped, so every merge adds a new vocabulary entry.
    """
    symbols = {symbol for word in words for symbol in word}
    merges = []
    while len(merges) < max_merges:
        counts = {}
        for word, count in words.items():
            for pair in zip(word, word[1:], strict=False):
                if pair[0] + pair[1] not in symbols:
                    counts[pair] = counts.get(pair, 0) + count
        if not counts:
            break
        best = min(counts, key=lambda pair: (-counts[pair], pair))
        if counts[best] < min_frequency:
            break
        merges.append(best)
        merged = best[0] + best[1]
        symbols.add(merged)
        new_words = {}
        for word, count in words.items():
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(merged)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            new_words[tuple(out)] = new_words.get(tuple(out), 0) + count
        words = new_words
    return merges


def train_clip_tokenizer(folder):
    """Byte-level BPE as CLIP's: lower-cased, `</w>` marks word ends, bos/eos at the end of vocab."""
    from tokenizers import Regex, normalizers, pre_tokenizers
    from transformers import CLIPTokenizer

    # CLIPTokenizer's own text rules: NFC, whitespace runs to one space, lower case, then words,
    # numbers and punctuation runs, mapped to the byte-level alphabet.
    normalizer = normalizers.Sequence(
        [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()]
    )
    splitter = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(
                Regex(r"'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"),
                behavior="removed",
                invert=True,
            ),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    words = {}
    for text in CORPUS:
        for word, _ in splitter.pre_tokenize_str(normalizer.normalize_str(text)):
            symbols = (*word[:-1], word[-1] + "</w>")
            words[symbols] = words.get(symbols, 0) + 1
    merges = learn_bpe(words)
    alphabet = list(bytes_to_unicode().values())
    tokens = alphabet + [symbol + "</w>" for symbol in alphabet]
    tokens += ["".join(pair) for pair in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    if len(set(tokens)) != len(tokens):
        raise RuntimeError("duplicate CLIP tokens")
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(
            {t: i for i, t in enumerate(tokens)}, f, ensure_ascii=False, separators=(",", ":")
        )
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        f.writelines(f"{a} {b}\n" for a, b in merges)
    tokenizer = CLIPTokenizer(
        vocab=os.path.join(folder, "vocab.json"),
        merges=os.path.join(folder, "merges.txt"),
        model_max_length=MAX_LENGTH,
    )
    tokenizer.save_pretrained(folder)
    return tokenizer


def train_siglip_tokenizer(folder):
    """SentencePiece as SigLIP's spiece.model (T5 ids: <pad>=0, </s>=1, <unk>=2; pads with </s>)."""
    from transformers import SiglipTokenizer

    proto = train_sentencepiece(260, pad_id=0, eos_id=1, unk_id=2, bos_id=-1)
    with tempfile.TemporaryDirectory() as raw:
        path = os.path.join(raw, "spiece.model")
        with open(path, "wb") as f:
            f.write(proto)
        tokenizer = SiglipTokenizer(path, model_max_length=MAX_LENGTH)
        tokenizer.save_pretrained(folder)
    return tokenizer


def tokenize(tokenizer, folder):
    """Token ids for SENTENCES from the tokenizer as saved (checks that it reloads)."""
    from transformers import AutoTokenizer

    reloaded = AutoTokenizer.from_pretrained(folder)
    if type(reloaded) is not type(tokenizer):
        raise RuntimeError(f"{folder}: tokenizer reloaded as {type(reloaded).__name__}")
    batch = reloaded(
        SENTENCES, padding="max_length", truncation=True, max_length=MAX_LENGTH, return_tensors="np"
    )
    original = tokenizer(SENTENCES, padding="max_length", truncation=True, max_length=MAX_LENGTH)
    if batch["input_ids"].tolist() != original["input_ids"]:
        raise RuntimeError(f"{folder}: the reloaded tokenizer gives other ids")
    return reloaded, batch["input_ids"].astype(np.int64), batch["attention_mask"].astype(np.int64)


def special_ids(tokenizer):
    names = ["bos", "eos", "unk", "sep", "pad", "cls", "mask"]
    ids = {}
    for name in names:
        token = getattr(tokenizer, f"{name}_token", None)
        if token is not None:
            ids[f"{name}_token"] = [str(token), tokenizer.convert_tokens_to_ids(str(token))]
    return ids


def text_golden(family, model_class, tokenizer, input_ids, attention_mask, note):
    return {
        "family": family,
        "model_class": model_class,
        "tokenizer_class": type(tokenizer).__name__,
        "reference": reference_versions(),
        "note": note,
        "vocab_size": len(tokenizer),
        "special_tokens": special_ids(tokenizer),
        "max_length": MAX_LENGTH,
        "sentences": SENTENCES,
        "tokens": [tokenizer.convert_ids_to_tokens(row) for row in input_ids.tolist()],
        "input_ids": input_ids.tolist(),
        "attention_mask": attention_mask.tolist(),
    }


def make_roberta_like(family, seed):
    import torch
    from transformers import RobertaConfig, RobertaModel, XLMRobertaConfig, XLMRobertaModel

    folder = fresh_folder(family)
    if family == "roberta":
        tokenizer = train_roberta_tokenizer(folder)
        config_class, model_class = RobertaConfig, RobertaModel
    else:
        tokenizer = train_xlm_roberta_tokenizer(folder)
        config_class, model_class = XLMRobertaConfig, XLMRobertaModel
    tokenizer, input_ids, attention_mask = tokenize(tokenizer, folder)
    if family == "xlm_roberta":
        check_fairseq_ids(folder, input_ids, attention_mask)
    torch.manual_seed(seed)
    config = config_class(
        vocab_size=len(tokenizer),
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=INTERMEDIATE,
        hidden_act="gelu",
        # Positions start after the padding id (1), so MAX_LENGTH tokens need MAX_LENGTH + 2 rows,
        # as 512 tokens need 514 in the released models.
        max_position_embeddings=MAX_LENGTH + 2,
        type_vocab_size=1,
        layer_norm_eps=1e-5,
        initializer_range=INIT_STD,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    model = model_class(config, add_pooling_layer=True).eval()
    randomize(
        model,
        seed,
        small=[
            "embeddings.word_embeddings.",
            "embeddings.position_embeddings.",
            "embeddings.token_type_embeddings.",
        ],
    )
    model = save_and_reload(model, folder)
    ids, mask = torch.from_numpy(input_ids), torch.from_numpy(attention_mask)
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask)
    checks = sensitivity(
        model, lambda: list(model(input_ids=ids, attention_mask=mask)[:2]), 1e-5, "gelu"
    )
    note = (
        "input_ids/attention_mask are the tokenizer's output for `sentences` with "
        'padding="max_length", truncation=True, max_length=16. Position ids are '
        "padding_id + 1 + (running count of non-padding ids), and padding ids (including a "
        "literal '<pad>' in the text) get position padding_id; there is one token type. "
        "last_hidden_state is after the last layer (post-layernorm encoder); "
        "pooler_output = tanh(dense(last_hidden_state[:, 0]))."
    )
    if family == "xlm_roberta":
        note += (
            " Ids are fairseq's: <s>=0, <pad>=1, </s>=2, <unk>=3, a SentencePiece id i >= 3 "
            "becomes i + 1, and <mask> is the last id."
        )
    golden = text_golden(
        family,
        f"{model_class.__name__}(add_pooling_layer=True)",
        tokenizer,
        input_ids,
        attention_mask,
        note,
    )
    golden["position_ids"] = (
        config.pad_token_id
        + np.cumsum(input_ids != config.pad_token_id, axis=1) * (input_ids != config.pad_token_id)
    ).tolist()
    golden["last_hidden_state"] = significant(out.last_hidden_state)
    golden["pooler_output"] = significant(out.pooler_output)
    golden["sensitivity"] = checks
    write_golden(folder, golden)


def make_roberta(seed):
    make_roberta_like("roberta", seed)


def make_xlm_roberta(seed):
    make_roberta_like("xlm_roberta", seed)


# --- Image-text pairs --------------------------------------------------------------------------


def check_embeds(embeds, features):
    """The model's embeddings are the tower's features divided by their L2 norm."""
    expected = features / features.norm(dim=-1, keepdim=True)
    error = (embeds - expected).abs().max().item()
    if error > 1e-6:
        raise RuntimeError(f"embeddings are not the normalised tower features: {error}")


def make_clip(seed):
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    folder = fresh_folder("clip")
    tokenizer, input_ids, attention_mask = tokenize(train_clip_tokenizer(folder), folder)
    torch.manual_seed(seed)
    # As in the released models the text tower is narrower than the vision tower, and the
    # projection differs from both, so text and vision sizes cannot be swapped unnoticed.
    text_hidden, projection = 24, 16
    config = CLIPConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": text_hidden,
            "intermediate_size": INTERMEDIATE,
            "num_hidden_layers": LAYERS,
            "num_attention_heads": HEADS,
            "max_position_embeddings": MAX_LENGTH,
            "projection_dim": projection,
            "hidden_act": "quick_gelu",
            "layer_norm_eps": 1e-5,
            "initializer_range": INIT_STD,
            # As openai/clip-vit-*: eos_token_id = 2 selects the legacy pooling, at the largest
            # id of each row (the first <|endoftext|>, which is the last id of the vocabulary).
            "pad_token_id": 1,
            "bos_token_id": 0,
            "eos_token_id": 2,
        },
        vision_config={
            "hidden_size": HIDDEN,
            "intermediate_size": INTERMEDIATE,
            "num_hidden_layers": LAYERS,
            "num_attention_heads": HEADS,
            "image_size": IMAGE_SIZE,
            "patch_size": PATCH_SIZE,
            "projection_dim": projection,
            "hidden_act": "quick_gelu",
            "layer_norm_eps": 1e-5,
            "initializer_range": INIT_STD,
        },
        projection_dim=projection,
    )
    model = CLIPModel(config).eval()
    randomize(model, seed, small=["text_model.embeddings.", "vision_model.embeddings."])
    with torch.no_grad():
        model.logit_scale.fill_(2.3)
    model = save_and_reload(model, folder)
    # As openai/clip-vit-*: shortest-edge resize, centre crop, CLIP's own mean/std, bicubic; at
    # the image size neither the resize nor the crop changes the pixels.
    processor = CLIPImageProcessor(
        size={"shortest_edge": IMAGE_SIZE},
        crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        image_mean=[0.48145466, 0.4578275, 0.40821073],
        image_std=[0.26862954, 0.26130258, 0.27577711],
        resample=3,
    )
    processor.save_pretrained(folder)
    images = make_images(seed, IMAGE_SIZE)
    pixel_values = run_image_processor(processor, images, IMAGE_SIZE)
    ids, mask, pixels = (torch.from_numpy(a) for a in (input_ids, attention_mask, pixel_values))
    with torch.no_grad():
        # transformers 5 returns the projected features as the pooler output of CLIPModel's
        # tower outputs, so the towers' own outputs come from calling each tower.
        vision = model.vision_model(pixel_values=pixels)
        text = model.text_model(input_ids=ids, attention_mask=mask)
        out = model(input_ids=ids, attention_mask=mask, pixel_values=pixels)
        check_embeds(out.image_embeds, model.visual_projection(vision.pooler_output))
        check_embeds(out.text_embeds, model.text_projection(text.pooler_output))
    checks = sensitivity(
        model,
        lambda: [
            *model.vision_model(pixel_values=pixels)[:2],
            *model.text_model(input_ids=ids, attention_mask=mask)[:2],
        ],
        1e-5,
        "quick_gelu",
    )
    golden = image_golden(
        "clip",
        "CLIPModel",
        images,
        pixel_values,
        "Images are at the processor's size: pixel_values = (images / 255 - mean) / std with "
        "CLIP's mean/std. Text: input_ids/attention_mask from the tokenizer "
        '(padding="max_length", truncation=True, max_length=16; pads with <|endoftext|>), '
        "the text tower uses a causal mask plus the attention mask. "
        "vision_last_hidden_state is the encoder output BEFORE post_layernorm (class token "
        "first); vision_pooler_output = post_layernorm(vision_last_hidden_state[:, 0]). "
        "text_last_hidden_state is after final_layer_norm; text_pooler_output is its row at the "
        "first <|endoftext|>. image_embeds/text_embeds are the projections (no bias) divided by "
        "their L2 norm; logits_per_image = exp(logit_scale) * image_embeds @ text_embeds.T.",
    )
    golden.update(
        {
            "tokenizer_class": type(tokenizer).__name__,
            "special_tokens": special_ids(tokenizer),
            "vocab_size": len(tokenizer),
            "max_length": MAX_LENGTH,
            "sentences": SENTENCES,
            "tokens": [tokenizer.convert_ids_to_tokens(row) for row in input_ids.tolist()],
            "input_ids": input_ids.tolist(),
            "attention_mask": attention_mask.tolist(),
            "vision_last_hidden_state": significant(vision.last_hidden_state),
            "vision_pooler_output": significant(vision.pooler_output),
            "text_last_hidden_state": significant(text.last_hidden_state),
            "text_pooler_output": significant(text.pooler_output),
            "image_embeds": significant(out.image_embeds),
            "text_embeds": significant(out.text_embeds),
            "logits_per_image": significant(out.logits_per_image),
            "logit_scale": significant(model.logit_scale),
        }
    )
    golden["sensitivity"] = checks
    write_golden(folder, golden)


def make_siglip(seed):
    import torch
    from transformers import SiglipConfig, SiglipImageProcessor, SiglipModel

    folder = fresh_folder("siglip")
    tokenizer, input_ids, attention_mask = tokenize(train_siglip_tokenizer(folder), folder)
    torch.manual_seed(seed)
    config = SiglipConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": HIDDEN,
            "intermediate_size": INTERMEDIATE,
            "num_hidden_layers": LAYERS,
            "num_attention_heads": HEADS,
            "max_position_embeddings": MAX_LENGTH,
            "hidden_act": "gelu_pytorch_tanh",
            "layer_norm_eps": 1e-6,
            "pad_token_id": tokenizer.pad_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "bos_token_id": None,
        },
        vision_config={
            "hidden_size": HIDDEN,
            "intermediate_size": INTERMEDIATE,
            "num_hidden_layers": LAYERS,
            "num_attention_heads": HEADS,
            "image_size": IMAGE_SIZE,
            "patch_size": PATCH_SIZE,
            "hidden_act": "gelu_pytorch_tanh",
            "layer_norm_eps": 1e-6,
            "vision_use_head": True,
        },
    )
    model = SiglipModel(config).eval()
    randomize(model, seed, small=["text_model.embeddings.", "vision_model.embeddings."])
    with torch.no_grad():
        model.logit_scale.fill_(1.7)
        model.logit_bias.fill_(-3.1)
    model = save_and_reload(model, folder)
    # As google/siglip-*: a fixed-size resize (a no-op here), mean = std = 0.5, bicubic.
    processor = SiglipImageProcessor(
        size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
        resample=3,
    )
    processor.save_pretrained(folder)
    images = make_images(seed, IMAGE_SIZE)
    pixel_values = run_image_processor(processor, images, IMAGE_SIZE)
    # SigLIP was trained on max_length-padded text without an attention mask, and the text
    # tower pools the LAST position; the golden follows that and passes input_ids only.
    ids, pixels = torch.from_numpy(input_ids), torch.from_numpy(pixel_values)
    with torch.no_grad():
        vision = model.vision_model(pixel_values=pixels)
        text = model.text_model(input_ids=ids)
        out = model(input_ids=ids, pixel_values=pixels)
        check_embeds(out.image_embeds, vision.pooler_output)
        check_embeds(out.text_embeds, text.pooler_output)
    checks = sensitivity(
        model,
        lambda: [
            *model.vision_model(pixel_values=pixels)[:2],
            *model.text_model(input_ids=ids)[:2],
        ],
        1e-6,
        "gelu_pytorch_tanh",
    )
    golden = image_golden(
        "siglip",
        "SiglipModel",
        images,
        pixel_values,
        "Images are at the processor's size: pixel_values = (images / 255 - 0.5) / 0.5. Text: "
        'input_ids from the tokenizer (padding="max_length", truncation=True, max_length=16, '
        "lower-cased, punctuation removed, </s> appended and used as padding); the model is "
        "run on input_ids ALONE (no attention mask, as SigLIP was trained; attention_mask is "
        "recorded but not used). text_last_hidden_state is after final_layer_norm; "
        "text_pooler_output = head(text_last_hidden_state[:, -1]). vision_last_hidden_state is "
        "after post_layernorm (no class token); vision_pooler_output is the attention-pooling "
        "head's output. image_embeds/text_embeds are the pooler outputs divided by their L2 "
        "norm; logits_per_image = image_embeds @ text_embeds.T * exp(logit_scale) + logit_bias.",
    )
    golden.update(
        {
            "tokenizer_class": type(tokenizer).__name__,
            "special_tokens": special_ids(tokenizer),
            "vocab_size": len(tokenizer),
            "max_length": MAX_LENGTH,
            "sentences": SENTENCES,
            "tokens": [tokenizer.convert_ids_to_tokens(row) for row in input_ids.tolist()],
            "input_ids": input_ids.tolist(),
            "attention_mask": attention_mask.tolist(),
            "vision_last_hidden_state": significant(vision.last_hidden_state),
            "vision_pooler_output": significant(vision.pooler_output),
            "text_last_hidden_state": significant(text.last_hidden_state),
            "text_pooler_output": significant(text.pooler_output),
            "image_embeds": significant(out.image_embeds),
            "text_embeds": significant(out.text_embeds),
            "logits_per_image": significant(out.logits_per_image),
            "logit_scale": significant(model.logit_scale),
            "logit_bias": significant(model.logit_bias),
        }
    )
    golden["sensitivity"] = checks
    write_golden(folder, golden)


# --- Audio -----------------------------------------------------------------------------------


def make_waveforms(seed):
    """int16 waveforms of DURATIONS at 16 kHz: a few tones under an envelope, plus noise."""
    rng = np.random.default_rng(seed)
    waveforms = []
    for index, seconds in enumerate(DURATIONS):
        t = np.arange(round(seconds * SAMPLING_RATE)) / SAMPLING_RATE
        tones = (
            0.30 * np.sin(2 * np.pi * (220.0 * (index + 1)) * t)
            + 0.15 * np.sin(2 * np.pi * 1234.5 * t + 0.7)
            + 0.08 * np.sin(2 * np.pi * (3000.0 + 500.0 * index) * t)
        )
        envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 3.0 * t)
        signal = tones * envelope + 0.02 * rng.standard_normal(t.shape)
        waveforms.append(np.round(signal * 32767).astype(np.int16))
    return waveforms


def audio_golden(family, model_class, waveforms, note):
    return {
        "family": family,
        "model_class": model_class,
        "reference": reference_versions(),
        "note": note,
        "sampling_rate": SAMPLING_RATE,
        "waveform_scale": WAVEFORM_SCALE,
        "waveforms": [packed(w, "int16") for w in waveforms],
    }


def make_whisper(seed):
    import torch
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel

    folder = fresh_folder("whisper")
    torch.manual_seed(seed)
    chunk_seconds = 1
    frames = chunk_seconds * SAMPLING_RATE // 160
    config = WhisperConfig(
        vocab_size=64,
        num_mel_bins=80,
        d_model=HIDDEN,
        encoder_layers=LAYERS,
        encoder_attention_heads=HEADS,
        encoder_ffn_dim=INTERMEDIATE,
        decoder_layers=1,
        decoder_attention_heads=HEADS,
        decoder_ffn_dim=INTERMEDIATE,
        # The encoder's second convolution halves the frames: 100 mel frames -> 50 positions.
        max_source_positions=frames // 2,
        max_target_positions=MAX_LENGTH,
        activation_function="gelu",
        init_std=INIT_STD,
        pad_token_id=63,
        bos_token_id=63,
        eos_token_id=63,
        decoder_start_token_id=62,
        begin_suppress_tokens=None,
    )
    model = WhisperModel(config).eval()
    randomize(model, seed, small=["encoder.conv2.", "encoder.embed_positions."])
    model = save_and_reload(model, folder)
    # As openai/whisper-*, except that the extractor pads or cuts to 1 s instead of 30 s, which
    # the tiny encoder's 50 positions require.
    extractor = WhisperFeatureExtractor(feature_size=80, chunk_length=chunk_seconds)
    extractor.save_pretrained(folder)
    waveforms = make_waveforms(seed)
    floats = [w.astype(np.float32) * np.float32(WAVEFORM_SCALE) for w in waveforms]
    features = extractor(floats, sampling_rate=SAMPLING_RATE, return_tensors="np")
    input_features = features["input_features"].astype(np.float32)
    numpy_path = np.stack(
        [
            extractor._np_extract_fbank_features(
                np.pad(f, (0, extractor.n_samples - len(f)))[None], "cpu"
            )[0]
            for f in floats
        ]
    )
    features = torch.from_numpy(input_features)
    with torch.no_grad():
        out = model.encoder(input_features=features)
    checks = sensitivity(model, lambda: [model.encoder(input_features=features)[0]], 1e-5, "gelu")
    golden = audio_golden(
        "whisper",
        "WhisperModel (golden from its encoder)",
        waveforms,
        f"WhisperFeatureExtractor with chunk_length={chunk_seconds}: each waveform is zero-padded "
        f"to {extractor.n_samples} samples, then log-mel: STFT (n_fft 400, hop 160, periodic "
        "Hann window, centred with reflect padding), power spectrum, 80 Slaney-normalised mel "
        "filters on the Slaney scale (0-8 kHz), log10(max(mel, 1e-10)), the last frame dropped, "
        "clipped below (per example) max - 8, then (x + 4) / 4. input_features are those of the "
        "torch code path; input_features_numpy_max_abs_difference says how far the numpy path "
        f"is. The encoder takes exactly {frames} frames; last_hidden_state is after the "
        "encoder's final layer_norm. The position table is random here (released checkpoints "
        "store sinusoids): read it from the checkpoint.",
    )
    golden.update(
        {
            "chunk_length_seconds": chunk_seconds,
            "input_features": packed(input_features, "float32"),
            "input_features_numpy_max_abs_difference": float(
                f"{np.abs(numpy_path - input_features).max():.3g}"
            ),
            "last_hidden_state": significant(out.last_hidden_state),
        }
    )
    golden["sensitivity"] = checks
    write_golden(folder, golden)


def audio_encoder_config(config_class, layout):
    """wav2vec2-style sizes; `layout` is "base" (group norm, post-LN) or "large" (layer norm)."""
    large = layout == "large"
    return config_class(
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=INTERMEDIATE,
        hidden_act="gelu",
        layer_norm_eps=1e-5,
        initializer_range=INIT_STD,
        # The released convolution stack (kernels, strides: 320 samples per frame) with 16 channels.
        conv_dim=(16,) * 7,
        conv_kernel=(10, 3, 3, 3, 3, 2, 2),
        conv_stride=(5, 2, 2, 2, 2, 2, 2),
        conv_bias=large,
        feat_extract_norm="layer" if large else "group",
        feat_extract_activation="gelu",
        do_stable_layer_norm=large,
        # Released: a 128-wide positional convolution in 16 groups; an even width (the last output
        # is dropped) and the groups are kept.
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=16,
        hidden_dropout=0.0,
        activation_dropout=0.0,
        attention_dropout=0.0,
        feat_proj_dropout=0.0,
        layerdrop=0.0,
        vocab_size=32,
    )


def make_wav2vec2_like(family, seed):
    import torch
    from transformers import (
        HubertConfig,
        HubertModel,
        Wav2Vec2Config,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2Model,
    )

    folder = fresh_folder(family)
    torch.manual_seed(seed)
    if family == "wav2vec2":
        # facebook/wav2vec2-base(-960h): group-norm feature encoder without conv bias, post-LN
        # transformer; its extractor normalises but returns no attention mask (pad with zeros).
        layout, model_class, return_mask = "base", Wav2Vec2Model, False
        weight_norm_names = "weight_g / weight_v, as the released checkpoints do"
        config = audio_encoder_config(Wav2Vec2Config, layout)
    else:
        # facebook/hubert-large-ls960-ft: layer-norm feature encoder with conv bias, pre-LN
        # ("stable") transformer; its extractor returns an attention mask, which the model uses.
        layout, model_class, return_mask = "large", HubertModel, True
        weight_norm_names = (
            "parametrizations.weight.original0 / original1, as transformers 5 saves a new model"
        )
        config = audio_encoder_config(HubertConfig, layout)
    model = model_class(config).eval()
    # The first convolution feeds a GroupNorm (base) or LayerNorm (large), the last one the
    # feature projection's LayerNorm.
    randomize(
        model,
        seed,
        small=["feature_extractor.conv_layers.0.conv.", "feature_extractor.conv_layers.6.conv."],
    )
    model = save_and_reload(model, folder)
    if family == "wav2vec2":
        model = use_legacy_weight_norm_names(model, folder)
    extractor = Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=SAMPLING_RATE,
        padding_value=0.0,
        do_normalize=True,
        return_attention_mask=return_mask,
    )
    extractor.save_pretrained(folder)
    waveforms = make_waveforms(seed)
    floats = [w.astype(np.float32) * np.float32(WAVEFORM_SCALE) for w in waveforms]
    features = extractor(floats, sampling_rate=SAMPLING_RATE, padding=True, return_tensors="np")
    input_values = features["input_values"].astype(np.float32)
    lengths = [len(w) for w in waveforms]
    inputs = {"input_values": torch.from_numpy(input_values)}
    if return_mask:
        mask = features["attention_mask"]
        if mask.sum(axis=1).tolist() != lengths:
            raise RuntimeError("unexpected attention mask")
        inputs["attention_mask"] = torch.from_numpy(mask.astype(np.int64))
    elif "attention_mask" in features:
        raise RuntimeError("the extractor returned an attention mask")
    with torch.no_grad():
        out = model(**inputs)
        checks = sensitivity(model, lambda: [model(**inputs)[0]], 1e-5, "gelu")
        frame_lengths = model._get_feat_extract_output_lengths(torch.tensor(lengths)).tolist()
    note = (
        "Wav2Vec2FeatureExtractor(do_normalize=True): waveforms are zero-padded to the longest "
        "and each is normalised over its own samples, (x - mean) / sqrt(var + 1e-7), padding "
        "left at 0. "
    )
    if return_mask:
        note += (
            "The extractor returns attention_mask (ones for the first input_lengths[i] samples); "
            "the model gets it, zeroes padded frames before the positional convolution and masks "
            "them in attention. Compare last_hidden_state on the first frame_lengths[i] frames. "
        )
    else:
        note += (
            "Without an attention mask the extractor pads FIRST and then normalises each padded "
            "row as a whole: the short row's mean and variance include its padding zeros, and "
            "its padding becomes (0 - mean) / std rather than 0. The model runs on that batch "
            "as it is (no mask). Row 0 (the 1.0 s waveform, the longest) has no padding, so it "
            "does not depend on the batch. "
        )
    note += (
        f"Feature encoder: {layout} layout (feat_extract_norm={config.feat_extract_norm!r}, "
        f"conv_bias={config.conv_bias}, do_stable_layer_norm={config.do_stable_layer_norm}). "
        "The positional convolution is weight-normed over dim 2 (kernel = g * v / |v|, the "
        f"norm over dims 0 and 1); the checkpoint names g and v {weight_norm_names}. "
        "last_hidden_state is the encoder output."
    )
    golden = audio_golden(family, model_class.__name__, waveforms, note)
    golden.update(
        {
            "input_lengths": lengths,
            "return_attention_mask": return_mask,
            "input_values": packed(input_values, "float32"),
            "frame_lengths": frame_lengths,
            "last_hidden_state": significant(out.last_hidden_state),
        }
    )
    golden["sensitivity"] = checks
    write_golden(folder, golden)


def make_wav2vec2(seed):
    make_wav2vec2_like("wav2vec2", seed)


def make_hubert(seed):
    make_wav2vec2_like("hubert", seed)


FAMILIES = {
    "vit": make_vit,
    "deit": make_deit,
    "dinov2": make_dinov2,
    "clip": make_clip,
    "siglip": make_siglip,
    "roberta": make_roberta,
    "xlm_roberta": make_xlm_roberta,
    "whisper": make_whisper,
    "wav2vec2": make_wav2vec2,
    "hubert": make_hubert,
}


def main(argv):
    import torch

    torch.set_num_threads(1)
    names = argv or list(FAMILIES)
    unknown = sorted(set(names) - set(FAMILIES))
    if unknown:
        raise SystemExit(f"unknown families {unknown}; choose from {sorted(FAMILIES)}")
    for offset, name in enumerate(FAMILIES):
        if name in names:
            FAMILIES[name](SEED + offset)
            print(f"wrote {os.path.join(ROOT, name)}")


if __name__ == "__main__":
    main(sys.argv[1:])
