"""The Python reference of src/text/slovnet: slovnet 0.6's numpy inference (slovnet.exec) with
the navec vectors, run on pre-tokenised sentences, one sentence per batch (as the Rust side
analyses one sentence per call; in a padded batch a sentence's last tokens would also see the
padding's embeddings).

usage: slovnet_reference.py MODELS_DIR CORPUS
CORPUS has one sentence per line, tokens separated by spaces. Prints one JSON object per line:
{"morph": ["NOUN|Case=Nom|…", …], "head": [0, 1, …], "rel": ["root", …], "ner": ["B-PER", …]}.
"""

import json
import os
import sys

from navec import Navec
from slovnet import NER, Morph, Syntax


def predict(api, words):
    """The model's raw prediction for one sentence, through slovnet's own encoder."""
    infer = api.infer
    return next(iter(infer.process(infer.encoder([words]))))


def main():
    models, corpus = sys.argv[1:3]
    navec = Navec.load(os.path.join(models, "navec_news_v1_1B_250K_300d_100q.tar"))
    morph = Morph.load(os.path.join(models, "slovnet_morph_news_v1.tar"), batch_size=1).navec(navec)
    syntax = Syntax.load(os.path.join(models, "slovnet_syntax_news_v1.tar"), batch_size=1).navec(navec)
    ner = NER.load(os.path.join(models, "slovnet_ner_news_v1.tar"), batch_size=1).navec(navec)
    morph_tags = morph.infer.decoder.tags_vocab
    ner_tags = ner.infer.decoder.tags_vocab
    rels = syntax.infer.decoder.rels_vocab
    with open(corpus, encoding="utf-8") as lines:
        for line in lines:
            words = line.rstrip("\n").split()
            if not words:
                print(json.dumps({"morph": [], "head": [], "rel": [], "ner": []}))
                continue
            heads, rel_ids = predict(syntax, words)
            print(json.dumps({
                "morph": [morph_tags.decode(i) for i in predict(morph, words)],
                "head": [int(h) for h in heads],
                "rel": [rels.decode(i) for i in rel_ids],
                "ner": [ner_tags.decode(i) for i in predict(ner, words)],
            }, ensure_ascii=False))


if __name__ == "__main__":
    main()
