"""The five press articles the book examines: outlet, title, date, language, and what each claims.

The texts are kept, as collected and in their original languages (Persian, Malay, Chinese,
Arabic, Lao), in the book's copy of the source articles, `shared/seeds/<file>`; the file name
is how the claims ledger (`llmscale.claims`) records a claim's source. The book never quotes the
texts in their own language: it gives their claims in English, in its own words, and this module
says where a reader can find each article. Everything here is read from the texts themselves;
nothing was looked up elsewhere, so `url` is None unless the text prints the article's address.

    from llmscale import articles
    articles.get("gpt4-leak").name    # how a page cites the article in prose
    articles.get("000_4ec7ba283c4a0447.txt").short
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# The book's chapters, written and planned, in the book's order.
CHAPTERS = ("scaling", "moe", "parallelism", "inference", "compression")


@dataclass(frozen=True)
class Article:
    """One source article, described from its own text.

    date: the date printed in the text as ISO "YYYY-MM-DD", or "undated, not before …" giving
    the latest event the text mentions. subject: a few words naming the article in prose ("GPT-4
    leak"). provenance: how the text reached the book (edition, translation, republication).
    chapters: the chapters that examine its claims, from CHAPTERS.
    """

    file: str
    key: str
    outlet: str
    title: str
    title_en: str
    date: str
    language: str
    author: str | None
    url: str | None
    summary: str
    chapters: tuple[str, ...]
    subject: str
    provenance: str

    @property
    def dated(self) -> bool:
        """Whether the text prints a date (else `date` says "undated, not before …")."""
        return not self.date.startswith("undated")

    @property
    def name(self) -> str:
        """How a page cites the article in prose: outlet (language), English title, date."""
        when = _printed(self.date, day=True) if self.dated else "undated"
        return f'{self.outlet} ({self.language}), "{self.title_en}", {when}'

    @property
    def short(self) -> str:
        """A short reference: 'the GPT-4 leak article (Metaverse Post, July 2023)'."""
        when = _printed(self.date, day=False) if self.dated else "undated"
        return f"the {self.subject} article ({self.outlet}, {when})"


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)  # not strftime's %B, which follows the locale


def _printed(iso: str, day: bool) -> str:
    """ "2023-07-11" as "11 July 2023" (day=True) or "July 2023"."""
    date = dt.date.fromisoformat(iso)
    month_year = f"{_MONTHS[date.month - 1]} {date.year}"
    return f"{date.day} {month_year}" if day else month_year


ARTICLES = (
    Article(
        file="000_4ec7ba283c4a0447.txt",
        key="gpt4-leak",
        outlet="Metaverse Post",
        title="GPT-4جزئیات فاش شده مقیاس عظیم و معماری چشمگیر آن را روشن می کند",
        title_en="GPT-4's leaked details shed light on its massive scale and impressive architecture",
        date="2023-07-11",
        language="Persian",
        author="Damir Yalalov",
        url=None,
        summary=(
            "Reports details of GPT-4 leaked from an unnamed source: about 1.8 trillion parameters in "
            "120 layers, a mixture of 16 experts of which two serve each token, 13 trillion training "
            "tokens, and a context of 8k tokens extended to 32k by fine-tuning. It describes the "
            "training run (8-way tensor and 15-way pipeline parallelism on about 25,000 A100s for 90 "
            "to 100 days, costed at about 63 million dollars, though its summary says 8 to 15 million) "
            "and the serving (clusters of 128 GPUs, multi-query attention, continuous batching, "
            "possibly speculative decoding, a cost per 1,000 tokens), and adds a vision encoder and "
            "rumours about the training data."
        ),
        chapters=("scaling", "moe", "parallelism", "inference"),
        subject="GPT-4 leak",
        provenance=(
            "A page of Metaverse Post's Persian-language edition: its image credit reads "
            '"Metaverse Post (mpost.io)" and its author note names Damir Yalalov, an editor of '
            "Metaverse Post. The text does not say it is a translation, but its Persian keeps English "
            'possessives glued to names ("GPT-4جزئیات", "OpenAIتعهد"), as a machine translation '
            "from English would. The page as kept also lists unrelated news dated 13 May 2024, so "
            "the copy was made in or after May 2024."
        ),
    ),
    Article(
        file="001_e46dd29df1d9f1d9.txt",
        key="llama-release",
        outlet="php.cn",
        title=(
            "Adakah ini prototaip versi Meta ChatGPT? Sumber terbuka, boleh dijalankan pada satu GPU, "
            "mengalahkan GPT-3 dengan 1/10 bilangan parameter"
        ),
        title_en=(
            "Is this the prototype of Meta's ChatGPT? Open source, runs on a single GPU, "
            "beats GPT-3 with a tenth of the parameters"
        ),
        date="2023-04-12",
        language="Malay",
        author="WBOY",
        url=None,
        summary=(
            "Reports Meta's release of LLaMA, a family of models from 7 to 65 billion parameters "
            "trained only on public data: LLaMA-13B beats GPT-3 on most benchmarks with a tenth of "
            "its parameters and runs on a single V100, and LLaMA-65B is competitive with Chinchilla "
            "and PaLM-540B. Following the LLaMA paper, it argues that Chinchilla's compute-optimal "
            "scaling ignores the inference budget, so a smaller model trained on more tokens (1 to 1.4 "
            "trillion) is cheaper to serve, and it lists the data mixture and the architectural "
            "changes (pre-normalisation with RMSNorm, SwiGLU, rotary embeddings)."
        ),
        chapters=("scaling",),
        subject="LLaMA release",
        provenance=(
            'The Malay edition of php.cn (the text calls itself "laman web China PHP" and gives '
            "admin@php.cn as its contact), under Home > Technology peripherals > AI, posted by WBOY "
            "on 2023-04-12 at 23:07:02. Its source line reads 51cto.com, so it republishes an "
            "article from there; the Malay reads as a machine translation of a Chinese original. "
            'The text says LeCun announced LLaMA "just now": it was written when Meta announced '
            "LLaMA (in February 2023), some weeks before php.cn's date. It links to Meta's LLaMA "
            "repository on GitHub but prints no address for itself."
        ),
    ),
    Article(
        file="002_ec05182d8266db35.txt",
        key="gpt-growth",
        outlet="Learn AI 不 BI",
        title="AI說書 - 從0開始 - 200 | OpenAI GPT 之參數量級變化",
        title_en="AI book talk from zero, no. 200: how the parameter scale of OpenAI's GPT changed",
        date="undated, not before September 2023 (it names GPT-4V)",
        language="Chinese",
        author=None,
        url=None,
        summary=(
            "A short post in a daily series of notes on the technology under LLMs. It says the "
            "architecture grew from the 2017 Transformer to GPT-3 (layers from 6 to 96, heads from 8 to "
            "96, a context from 512 to 12,288 tokens), credits GPT-3 175B's better results over the "
            "40-layer GPT-2 1542M to its depth, and says GPT-3 was trained on 400 billion tokens from "
            'Common Crawl with "2.14 × 10²³ FLOPS" (printed "2.14 * 1023"), compute only a few teams in '
            "the world have. Teasers "
            "of the series' other posts on the same page add that parameters grew from 65 million in "
            "the 2017 Transformer to 175 billion in GPT-3."
        ),
        chapters=("scaling",),
        subject="GPT growth",
        provenance=(
            "Post 200 of the series 「AI說書 - 從0開始」 by the column 「Learn AI 不 BI」, in traditional "
            "Chinese characters, which describes itself as reading notes on AI (讀書筆記); the book it "
            "follows is not named. The platform is not named either: the page's member and comment "
            "counts and its site-wide autumn writing contest match the Vocus (方格子) platform. The "
            "post prints no date or author name. The page as kept carries a sidebar post saying the "
            "US presidential election is three days away, so the copy was made around or after the "
            "start of November 2024."
        ),
    ),
    Article(
        file="003_770068eb7e05551e.txt",
        key="cost-slimming",
        outlet="Gate",
        title='حركة "التخسيس التكلفة" للنماذج الكبيرة',
        title_en="The 'cost-slimming' drive of large models",
        date="undated, not before October 2023 (it names Wenxin, that is ERNIE, 4.0)",
        language="Arabic",
        author=None,
        url=None,
        summary=(
            "Argues that the race to ever larger models is unsustainable, commercially and for the "
            "environment, and that their makers must cut costs: it cites OpenAI's losses, Anthropic's "
            "expected spending, the electricity of PaLM's training and GPT-3's need for at least five "
            "A100s to serve. It names data, compute and algorithms as the drivers of a model's cost, "
            "and proposes four remedies: data at scale, model compression (quantization, pruning and "
            "knowledge distillation), compute efficiency, and tiered commercial models (general, "
            "industry and small private ones)."
        ),
        chapters=("scaling", "inference", "compression"),
        subject="cost-slimming",
        provenance=(
            'An Arabic page carrying third-party content with a disclaimer from Gate; it says "View '
            'original" and gives as its original source "الجسم القطبي الدماغ" ("the polar body '
            'brain"), a word-for-word rendering of 脑极体 (Naojiti), a Chinese technology column. It '
            "is a translation of a Chinese original: its examples are Chinese (Baidu's Wenxin Yiyan, "
            "Huawei's Pangu, Du Xiaoman's Xuanyuan 70B) and its Arabic renders Chinese idioms word by "
            'word (the PaddlePaddle platform appears as "the rowing platform"). It prints no date or '
            "author."
        ),
    ),
    Article(
        file="004_47a4d69bd65412ac.txt",
        key="ligo-half-cost",
        outlet="Unite.AI",
        title="ທ່ານສາມາດສ້າງແບບຈໍາລອງພາສາຂະຫນາດໃຫຍ່ເຊັ່ນ ChatGPT ດ້ວຍຄ່າໃຊ້ຈ່າຍເຄິ່ງຫນຶ່ງບໍ?",
        title_en="Can you build large language models like ChatGPT at half the cost?",
        date="undated, not before 2023 (it names Microsoft's 2023 investment in OpenAI)",
        language="Lao",
        author=None,
        url=None,
        summary=(
            "Lists three drivers of what an LLM costs to build, compute, energy and data storage, "
            "with GPT-3 as the example (about 5 million dollars; 14.8 days on 10,000 V100s, 3.55 "
            "million GPU-hours). It then presents LiGO, MIT's linear growth operator, which "
            "initialises a large model's weights from a smaller pretrained one and is said to halve "
            "the compute of training LLMs; for BERT-Base grown from BERT-Small it reports 44.7% fewer "
            "FLOPs and 40.7% less wall-clock time than training from scratch. It ends on running "
            "costs: ChatGPT's answers cost OpenAI about 700,000 dollars a day."
        ),
        chapters=("scaling", "compression"),
        subject="LiGO half-cost",
        provenance=(
            'A Lao page of Unite.AI: its title line ends "- Unite.AI" and its last line points to '
            'unite.ai. Its byline shows only "mm" (an empty author picture) and "Published on" with '
            "no date after it. The text does not say it is a translation; the Lao reads as a machine "
            "translation from English (MIT's researchers and Yoon Kim, the paper's senior author, are "
            "quoted in it)."
        ),
    ),
)

by_file = {article.file: article for article in ARTICLES}
_by_key = {article.key: article for article in ARTICLES}


def get(key_or_file: str) -> Article:
    """The article with this key ("gpt4-leak") or seed file name ("000_4ec7ba283c4a0447.txt")."""
    article = _by_key.get(key_or_file) or by_file.get(key_or_file)
    if article is None:
        raise ValueError(
            f"no article {key_or_file!r}; choose a key ({', '.join(_by_key)}) or a file ({', '.join(by_file)})"
        )
    return article
