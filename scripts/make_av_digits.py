"""Builds the AV-Digits dataset bundled with mmkeras (`mmkeras/datasets/av_digits/`).

AV-Digits is a ten-class digit task with three modalities, each of which is ambiguous on its own:

* image: a real 8x8 handwritten digit scan (the UCI ML hand-written digits data shipped with
  scikit-learn), upscaled to 32x32, slightly moved, partly covered by occluding blocks and noisy;
* audio: the digit spoken by espeak-ng (several accents, voice variants, speeds and pitches),
  buried in broadband noise and, in some clips, a second voice saying another digit;
* text: a short clue ("an odd number below five", "the number after six", "sevn") that pins the
  digit down only some of the time.

Everything is drawn from one seeded generator, so the same seed, scikit-learn data and espeak-ng
version give the same files. With `--check` the script reads the written files back and measures
scikit-learn baselines (logistic regression on each modality alone and on all three together); the
figures go into the dataset card.

Usage:
    python scripts/make_av_digits.py            # write the dataset
    python scripts/make_av_digits.py --check    # write it, then measure the baselines
    python scripts/make_av_digits.py --check-only   # measure the files already written
"""

import argparse
import csv
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "mmkeras" / "datasets" / "av_digits"

IMAGE_SIZE = 32
SAMPLE_RATE = 8000
CLIP_SECONDS = (0.6, 1.0)
SPLIT_SIZES = {"train": 1257, "validation": 270, "test": 270}
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

# espeak-ng accents crossed with its voice variants give speakers that differ in timbre and
# pronunciation; clips from a held-out split are never heard during training.
VOICES = ("en", "en-us", "en-gb-x-rp", "en-gb-scotland", "en-029", "en-us-nyc", "en-gb-x-gbclan")
VARIANTS = ("", "+m1", "+m3", "+m5", "+m7", "+f1", "+f2", "+f3", "+f4", "+klatt")

# --- difficulty knobs (tuned with --check so that each modality alone is clearly below the
# --- combination; see the dataset card for the figures they give).
OCCLUDER_COUNT = (1, 2)  # inclusive range of occluding blocks per image
OCCLUDER_SIDE = (8, 14)  # side lengths in pixels of a block, inclusive
IMAGE_NOISE_STD = 30.0  # Gaussian pixel noise, on the 0..255 scale
AUDIO_SNR_DB = (-4.0, 16.0)  # speech-to-noise ratio of the broadband noise
INTERFERER_PROB = 0.35  # chance that a second voice says another digit
INTERFERER_GAIN_DB = (-10.0, 0.0)  # its level relative to the target word
EXACT_CLUE_PROB = 0.65  # chance that a clue names the digit outright
TYPO_PROB = 0.15  # chance that a clue gets one typo


# ---------------------------------------------------------------------------------------------
# Text clues
# ---------------------------------------------------------------------------------------------


def _number_phrase(n, rng):
    return NUMBER_WORDS[n] if rng.random() < 0.7 else str(n)


def _ambiguous_clues():
    """Families of (template, digits it is true for); `{k}` fields are filled per clue.

    A clue picks a family first, so that large families (such as "not k") do not crowd out
    the rest.
    """
    digits = range(10)
    odd, even = {1, 3, 5, 7, 9}, {0, 2, 4, 6, 8}
    families = {
        "parity": [
            ("an odd number", odd),
            ("odd", odd),
            ("an even number", even),
            ("even", even),
        ],
        "prime": [
            ("a prime", {2, 3, 5, 7}),
            ("a prime number", {2, 3, 5, 7}),
            ("not a prime", {0, 1, 4, 6, 8, 9}),
        ],
        "property": [
            ("a square number", {0, 1, 4, 9}),
            ("divisible by three", {0, 3, 6, 9}),
            ("a power of two", {1, 2, 4, 8}),
            ("an odd number below {5}", {1, 3}),
            ("an even number above {4}", {6, 8}),
            ("an odd prime", {3, 5, 7}),
        ],
        "shape": [
            ("a digit with curves", {0, 2, 3, 5, 6, 8, 9}),
            ("written with straight strokes only", {1, 4, 7}),
        ],
        "compare": [],
        "not": [("not zero", set(range(1, 10)))],
        "between": [],
    }
    for k in range(1, 9):
        families["compare"].append((f"more than {{{k}}}", {d for d in digits if d > k}))
        families["compare"].append((f"less than {{{k}}}", {d for d in digits if d < k}))
    for k in range(1, 10):
        families["not"].append((f"not {{{k}}}", {d for d in digits if d != k}))
    for lo in range(0, 7):
        for hi in range(lo + 3, 10):
            families["between"].append((f"between {{{lo}}} and {{{hi}}}", set(range(lo + 1, hi))))
    return families


AMBIGUOUS_CLUES = _ambiguous_clues()


def _exact_clue(d, rng):
    """A clue true for `d` alone."""
    kinds = ["word", "word", "word", "the digit"]
    if d < 9:
        kinds.append("before")
    if d > 0:
        kinds.append("after")
    if d >= 2:
        kinds.append("plus")
    kind = kinds[rng.integers(len(kinds))]
    if kind == "word":
        return NUMBER_WORDS[d]
    if kind == "the digit":
        return f"the digit {d}"
    if kind == "before":
        return f"the number before {_number_phrase(d + 1, rng)}"
    if kind == "after":
        return f"the number after {_number_phrase(d - 1, rng)}"
    a = int(rng.integers(1, d))
    return f"{_number_phrase(a, rng)} plus {_number_phrase(d - a, rng)}"


def _fill(template, rng):
    out = template
    for k in range(10):
        out = out.replace(f"{{{k}}}", _number_phrase(k, rng))
    return out


def _add_typo(text, rng):
    """Swaps, drops or doubles one letter of a word longer than three letters."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) > 3 and w.isalpha()]
    if not candidates:
        return text
    i = candidates[rng.integers(len(candidates))]
    w = words[i]
    j = int(rng.integers(1, len(w) - 1))
    kind = rng.integers(3)
    if kind == 0:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    elif kind == 1:
        w = w[:j] + w[j + 1 :]
    else:
        w = w[:j] + w[j] + w[j:]
    words[i] = w
    return " ".join(words)


def make_clue(d, rng):
    """A short, possibly misspelt clue about digit `d`."""
    if rng.random() < EXACT_CLUE_PROB:
        text = _exact_clue(d, rng)
    else:
        families = [f for f in AMBIGUOUS_CLUES.values() if any(d in ds for _, ds in f)]
        family = families[rng.integers(len(families))]
        options = [t for t, ds in family if d in ds]
        text = _fill(options[rng.integers(len(options))], rng)
    if rng.random() < TYPO_PROB:
        text = _add_typo(text, rng)
    return text


# ---------------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------------


def make_image(scan, rng):
    """8x8 scan (0..16) -> noisy, occluded 32x32 uint8 image (bright ink on dark)."""
    import cv2

    img = cv2.resize(
        scan.astype(np.float32) * (255.0 / 16.0),
        (IMAGE_SIZE, IMAGE_SIZE),
        interpolation=cv2.INTER_CUBIC,
    )
    centre = (IMAGE_SIZE / 2, IMAGE_SIZE / 2)
    matrix = cv2.getRotationMatrix2D(centre, rng.uniform(-12, 12), rng.uniform(0.85, 1.1))
    matrix[:, 2] += rng.uniform(-2.5, 2.5, size=2)
    img = cv2.warpAffine(img, matrix, (IMAGE_SIZE, IMAGE_SIZE), flags=cv2.INTER_LINEAR)
    for _ in range(rng.integers(OCCLUDER_COUNT[0], OCCLUDER_COUNT[1] + 1)):
        h, w = rng.integers(OCCLUDER_SIDE[0], OCCLUDER_SIDE[1] + 1, size=2)
        y = rng.integers(0, IMAGE_SIZE - h + 1)
        x = rng.integers(0, IMAGE_SIZE - w + 1)
        img[y : y + h, x : x + w] = rng.uniform(0, 255)
    img = img + rng.normal(0.0, IMAGE_NOISE_STD, size=img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# Audio
# ---------------------------------------------------------------------------------------------


def synthesise_word(word, voice, speed, pitch):
    """espeak-ng speech of `word`, resampled by sox to 8 kHz mono, as float32 in -1..1."""
    speech = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", word],
        check=True,
        capture_output=True,
    ).stdout
    pcm = subprocess.run(
        [
            "sox",
            "-t",
            "wav",
            "-",
            "-t",
            "raw",
            "-r",
            str(SAMPLE_RATE),
            "-b",
            "16",
            "-c",
            "1",
            "-e",
            "signed-integer",
            "-",
        ],
        input=speech,
        check=True,
        capture_output=True,
    ).stdout
    audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    # espeak pads words with silence; keep the voiced part so clips can be placed freely.
    loud = np.flatnonzero(np.abs(audio) > 0.02 * np.abs(audio).max())
    audio = audio[loud[0] : loud[-1] + 1]
    return audio / (np.abs(audio).max() + 1e-9)


def _random_word(d, rng):
    voice = VOICES[rng.integers(len(VOICES))] + VARIANTS[rng.integers(len(VARIANTS))]
    return synthesise_word(
        NUMBER_WORDS[d], voice, int(rng.integers(130, 231)), int(rng.integers(25, 86))
    )


def _pink_noise(n, rng):
    spectrum = np.fft.rfft(rng.normal(size=n))
    freqs = np.arange(spectrum.size, dtype=np.float64)
    freqs[0] = 1.0
    return np.fft.irfft(spectrum / np.sqrt(freqs), n=n)


def _place(word, length, rng):
    out = np.zeros(length, np.float32)
    if word.size > length:
        word = word[:length] * np.linspace(1.0, 0.0, length) ** 0.25
    start = rng.integers(0, length - word.size + 1)
    out[start : start + word.size] = word
    return out


def make_clip(d, rng):
    """A noisy 0.6-1.0 s clip of digit `d` spoken, as int16 samples."""
    length = int(
        rng.integers(int(CLIP_SECONDS[0] * SAMPLE_RATE), int(CLIP_SECONDS[1] * SAMPLE_RATE) + 1)
    )
    word = _random_word(d, rng)
    target = _place(word, length, rng)
    speech_rms = np.sqrt(np.mean(word**2))
    mix = target.astype(np.float64)
    if rng.random() < INTERFERER_PROB:
        other = (d + rng.integers(1, 10)) % 10
        interferer = _place(_random_word(other, rng), length, rng)
        gain = 10 ** (rng.uniform(*INTERFERER_GAIN_DB) / 20)
        mix += gain * interferer
    noise = _pink_noise(length, rng) if rng.random() < 0.5 else rng.normal(size=length)
    noise *= speech_rms / np.sqrt(np.mean(noise**2)) / 10 ** (rng.uniform(*AUDIO_SNR_DB) / 20)
    mix += noise
    mix *= 0.9 / np.abs(mix).max()
    return np.rint(mix * 32767).astype(np.int16)


def write_wav(path, samples):
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(SAMPLE_RATE)
        f.writeframes(samples.astype("<i2").tobytes())


# ---------------------------------------------------------------------------------------------
# Assembly
# ---------------------------------------------------------------------------------------------


def split_indices(labels, seed):
    """Stratified fixed split of sample indices into the sizes of SPLIT_SIZES."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(labels.size)
    held = SPLIT_SIZES["validation"] + SPLIT_SIZES["test"]
    train, rest = train_test_split(idx, test_size=held, stratify=labels, random_state=seed)
    val, test = train_test_split(
        rest, test_size=SPLIT_SIZES["test"], stratify=labels[rest], random_state=seed
    )
    return {"train": np.sort(train), "validation": np.sort(val), "test": np.sort(test)}


def generate(out, seed, clips_per_digit):
    import cv2
    from sklearn.datasets import load_digits

    rng = np.random.default_rng(seed)
    digits = load_digits()
    scans = digits.images.astype(np.uint8)  # 0..16
    labels = digits.target.astype(np.int64)
    splits = split_indices(labels, seed)

    if out.exists():
        shutil.rmtree(out / "images", ignore_errors=True)
        shutil.rmtree(out / "audio", ignore_errors=True)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "audio").mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / "uci_digits_8x8.npz", images=scans, labels=labels.astype(np.uint8))

    # Each split hears its own clips, shared out evenly over the split's samples of that digit.
    fractions = np.array([SPLIT_SIZES[s] for s in SPLIT_SIZES], np.float64)
    per_split = np.floor(clips_per_digit * fractions / fractions.sum()).astype(int)
    per_split[0] += clips_per_digit - per_split.sum()
    clip_names = rng.permutation(10 * clips_per_digit)
    pool = {}
    counter = 0
    for d in range(10):
        for split, count in zip(SPLIT_SIZES, per_split, strict=True):
            names = []
            for _ in range(count):
                name = f"audio/clip_{clip_names[counter]:04d}.wav"
                write_wav(out / name, make_clip(d, rng))
                names.append(name)
                counter += 1
            pool[(split, d)] = names

    for split, idx in splits.items():
        rows = []
        uses = {}
        for i in rng.permutation(idx):
            d = int(labels[i])
            image_name = f"images/{i:04d}.png"
            cv2.imwrite(
                str(out / image_name), make_image(scans[i], rng), [cv2.IMWRITE_PNG_COMPRESSION, 9]
            )
            clips = pool[(split, d)]
            k = uses.get(d, 0)
            uses[d] = k + 1
            rows.append((image_name, clips[k % len(clips)], make_clue(d, rng), str(d)))
        with open(out / f"{split}.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["image", "audio", "text", "label"])
            writer.writerows(rows)


# ---------------------------------------------------------------------------------------------
# Baselines
# ---------------------------------------------------------------------------------------------


def _read_split(out, split, length=SAMPLE_RATE):
    import cv2

    with open(out / f"{split}.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    images = np.stack([cv2.imread(str(out / r["image"]), cv2.IMREAD_GRAYSCALE) for r in rows])
    audio = np.zeros((len(rows), length), np.float32)
    for n, r in enumerate(rows):
        with wave.open(str(out / r["audio"]), "rb") as w:
            x = np.frombuffer(w.readframes(w.getnframes()), "<i2")[:length]
        audio[n, : x.size] = x / 32768.0
    texts = [r["text"] for r in rows]
    labels = np.array([int(r["label"]) for r in rows])
    return images, audio, texts, labels


def _mel_filterbank(n_mels, n_fft):
    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    mels = np.linspace(hz_to_mel(60.0), hz_to_mel(SAMPLE_RATE / 2), n_mels + 2)
    hz = 700.0 * (10 ** (mels / 2595.0) - 1.0)
    bins = np.fft.rfftfreq(n_fft, 1.0 / SAMPLE_RATE)
    bank = np.zeros((n_mels, bins.size))
    for m in range(n_mels):
        lo, mid, hi = hz[m : m + 3]
        bank[m] = np.clip(np.minimum((bins - lo) / (mid - lo), (hi - bins) / (hi - mid)), 0, None)
    return bank


def audio_features(audio, n_fft=256, hop=80, n_mels=32, n_segments=3):
    """Log-mel summary: mean and standard deviation over time, plus the means of the loudest
    frames split into `n_segments` (speech position varies, so align on energy, not on time)."""
    frames = np.lib.stride_tricks.sliding_window_view(audio, n_fft, axis=1)[:, ::hop]
    spec = np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=-1)) ** 2
    logmel = np.log(spec @ _mel_filterbank(n_mels, n_fft).T + 1e-6)
    energy = logmel.mean(axis=-1)
    feats = [logmel.mean(axis=1), logmel.std(axis=1)]
    order = np.argsort(-energy, axis=1)[:, : logmel.shape[1] // 2]
    loud = np.sort(order, axis=1)
    picked = np.take_along_axis(logmel, loud[..., None], axis=1)
    for seg in np.array_split(picked, n_segments, axis=1):
        feats.append(seg.mean(axis=1))
    return np.concatenate(feats, axis=1)


def check(out):
    """Logistic-regression baselines on each modality and on their concatenation."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    data = {s: _read_split(out, s) for s in SPLIT_SIZES}
    vectorizer = CountVectorizer(ngram_range=(1, 2), binary=True, token_pattern=r"\S+")
    vectorizer.fit(data["train"][2])
    img_scale = StandardScaler().fit(data["train"][0].reshape(len(data["train"][0]), -1) / 255.0)
    aud_scale = StandardScaler().fit(audio_features(data["train"][1]))

    def features(split):
        images, audio, texts, labels = data[split]
        return {
            "image": img_scale.transform(images.reshape(len(images), -1) / 255.0),
            "audio": aud_scale.transform(audio_features(audio)),
            "text": vectorizer.transform(texts).toarray() * 3.0,
        }, labels

    feats = {s: features(s) for s in SPLIT_SIZES}
    results = {}
    for name in ("image", "audio", "text", "image+audio+text"):
        parts = name.split("+")

        def stack(split, parts=parts):
            return np.concatenate([feats[split][0][p] for p in parts], axis=1)

        best = None
        for c in (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0):
            clf = LogisticRegression(C=c, max_iter=3000)
            clf.fit(stack("train"), feats["train"][1])
            val = clf.score(stack("validation"), feats["validation"][1])
            if best is None or val > best[0]:
                best = (val, c, clf)
        val, c, clf = best
        test = clf.score(stack("test"), feats["test"][1])
        results[name] = (val, test, c)
        print(f"  {name:<18} validation {val:6.1%}   test {test:6.1%}   (C={c})")
    single = max(results[m][1] for m in ("image", "audio", "text"))
    gain = results["image+audio+text"][1] - single
    print(f"  combination minus best single modality (test): {gain * 100:+.1f} points")
    return results


def total_size(out):
    return sum(p.stat().st_size for p in out.rglob("*") if p.is_file())


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of every random choice (default: %(default)s)"
    )
    parser.add_argument(
        "--clips-per-digit",
        type=int,
        default=40,
        help="spoken clips synthesised per digit, shared out over the splits (default: %(default)s)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--check", action="store_true", help="after writing, measure the scikit-learn baselines"
    )
    mode.add_argument(
        "--check-only",
        action="store_true",
        help="do not write; measure the baselines on the files in --out",
    )
    args = parser.parse_args(argv)

    if not args.check_only:
        for tool in ("espeak-ng", "sox"):
            if shutil.which(tool) is None:
                parser.error(f"{tool} is needed to synthesise the audio but was not found on PATH")
        generate(args.out, args.seed, args.clips_per_digit)
        print(f"wrote {args.out}")
    files = sum(1 for p in args.out.rglob("*") if p.is_file())
    print(f"total size: {total_size(args.out) / 1e6:.2f} MB in {files} files")
    if args.check or args.check_only:
        print("logistic-regression baselines (accuracy):")
        check(args.out)


if __name__ == "__main__":
    main()
