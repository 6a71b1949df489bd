"""Data: token counts, data sets, mixtures, epochs, public and private data; and the page's exercises."""

from __future__ import annotations

import numpy as np

from ... import claims, counting, exercises, presets, published
from ...scaling import laws, mixtures

YES_NO = "yes/no"


def _llama():
    return mixtures.published_mixture("llama")


def _gpt3():
    return mixtures.published_mixture("gpt3")


def _p(key: str) -> float:
    return published.get(key).value


def _gpt4_unique(code_share: float) -> float:
    d = presets.preset("gpt4-reported").train_tokens
    return mixtures.mixture_unique_tokens(
        d, [1 - code_share, code_share], [_p("gpt4.text_epochs"), _p("gpt4.code_epochs")]
    )


# --- 001 (Malay): LLaMA -------------------------------------------------------------------


@claims.register(
    "data-llama-public-only",
    claims.LLAMA_RELEASE,
    "LLaMA was trained only on publicly available data, unlike most large models.",
    True,
    YES_NO,
    basis="primary-source",
)
def _():
    m = _llama()
    share = m.public_share()
    return bool(abs(share - 1.0) < 1e-9), (
        f"Read from the LLaMA paper: every source of its Table 1 ({', '.join(m.labels)}) is a "
        f"public data set (Section 2.1), {share:.0%} of its {m.total_tokens / 1e12:.1f}T training "
        "tokens. 'Unlike most large models' is the next claim."
    )


@claims.register(
    "data-others-private",
    claims.LLAMA_RELEASE,
    "Most existing models (Chinchilla, PaLM, GPT-3) rely on data that is not publicly "
    "available or not documented, such as 'Books–2TB' or social-media conversations.",
    True,
    YES_NO,
    basis="primary-source",
)
def _():
    g = _gpt3()
    private = [lab for lab, pub in zip(g.labels, g.public) if not pub]
    share = 1 - g.public_share()
    return bool(share > 0), (
        f"Checked for GPT-3, whose mixture its paper publishes (Table 2.2): by the paper's own "
        f"descriptions {', '.join(private)} were never released, and they supply {share:.0%} of "
        f"its {g.total_tokens / 1e9:.0f}B training tokens. Chinchilla's MassiveText and PaLM's "
        "corpus were not released either, by their papers' own account (not held in the book's tables)."
    )


@claims.register(
    "data-llama-tokens-65b-33b",
    claims.LLAMA_RELEASE,
    "LLaMA-65B and LLaMA-33B were trained on 1.4 trillion tokens.",
    1.4e12,
    "tokens",
    basis="primary-source",
)
def _():
    d65, d33 = (presets.preset(n).train_tokens for n in ("llama-65b", "llama-33b"))
    n65, n33 = (counting.param_count(presets.get(n)) for n in ("llama-65b", "llama-33b"))
    worst = max((d65, d33), key=lambda d: abs(d - 1.4e12))  # both sizes must match the claim
    return worst, (
        f"Read from the LLaMA paper (Table 2, the presets' training tokens): {d65 / 1e12:.1f}T "
        f"tokens for 65B and {d33 / 1e12:.1f}T for 33B, {d65 / n65:.0f} and {d33 / n33:.0f} "
        "tokens per parameter."
    )


@claims.register(
    "data-llama-tokens-7b",
    claims.LLAMA_RELEASE,
    "LLaMA-7B was trained on 1 trillion tokens.",
    1e12,
    "tokens",
    basis="primary-source",
)
def _():
    p = presets.preset("llama-7b")
    n = counting.param_count(p.config)
    rule = [d / n_ for n_, _, d in laws.HOFFMANN_TABLE3_APPROACH1]
    return p.train_tokens, (
        f"Read from the LLaMA paper (Table 2): {p.train_tokens / 1e12:.1f}T tokens, {p.train_tokens / n:.0f} "
        f"tokens per parameter against the {min(rule):.0f}–{max(rule):.0f} of "
        "Hoffmann et al.'s compute-optimal Table 3."
    )


# The article's shares, as it lists them (its claim, not an input): Table 1's rows by key.
_ARTICLE_SHARES = {"common_crawl": 0.67, "c4": 0.15, "github": 0.045, "books": 0.045, "arxiv": 0.025}


@claims.register(
    "data-llama-mixture",
    claims.LLAMA_RELEASE,
    "LLaMA's mixture: English CommonCrawl 67%, C4 15%, GitHub 4.5%, Gutenberg and Books3 4.5%, ArXiv 2.5%.",
    sum(_ARTICLE_SHARES.values()),
    "fraction of training tokens",
    basis="primary-source",
)
def _():
    m = _llama()
    listed = m.share(*_ARTICLE_SHARES)
    shares = " + ".join(f"{m.get(k, 'weights'):.1%}" for k in _ARTICLE_SHARES)
    off = [m.labels[m.sources.index(k)] for k, w in _ARTICLE_SHARES.items() if abs(m.get(k, "weights") - w) > 1e-9]
    each = "each matches the article's share" if not off else f"{', '.join(off)} differ from the article's"
    missing = [(m.labels[i], m.weights[i]) for i, k in enumerate(m.sources) if k in ("wikipedia", "stackexchange")]
    return listed, (
        "The sum of the five shares the article lists, against the same five read from the LLaMA "
        f"paper's Table 1 ({shares} = {listed:.1%}); {each}. The article leaves out "
        + " and ".join(f"{lab} ({w:.1%})" for lab, w in missing)
        + f", which bring the total to {m.weight_sum:.0%}."
    )


@claims.register(
    "data-llama-dataset-size",
    claims.LLAMA_RELEASE,
    "LLaMA's whole training set holds about 1.4T tokens after tokenization.",
    1.4e12,
    "tokens",
    basis="derived",
)
def _():
    m = _llama()
    u = m.total_unique_tokens()
    return u, (
        f"1.4T is the tokens trained on. Table 1's weights and epochs imply {u / 1e12:.2f}T unique "
        f"tokens (Σ w_i·D/e_i), {1 - u / m.total_tokens:.0%} fewer, outside the ±0.05T of the "
        "article's two digits: Wikipedia and Books are repeated "
        f"and {1 - m.get('github', 'epochs'):.0%} of GitHub is never seen. The LLaMA paper's own "
        "sentence has the same slip."
    )


@claims.register(
    "data-llama-wikipedia-epochs",
    claims.LLAMA_RELEASE,
    "LLaMA went over its Wikipedia data about two times (two epochs).",
    2,
    "epochs",
    basis="primary-source",
)
def _():
    m = _llama()
    e = m.get("wikipedia", "epochs")
    worth = mixtures.repeat_value(e)
    return e, (
        f"Read from the LLaMA paper's Table 1: {e:.2f} epochs over "
        f"{m.get('wikipedia', 'unique_tokens') / 1e9:.1f}B unique tokens, which is 'about two' at the "
        f"article's one significant digit (2 ± 0.5). By Muennighoff et al.'s law each token "
        f"trained on is still worth {worth:.0%} of a fresh one."
    )


@claims.register(
    "data-llama-books-epochs",
    claims.LLAMA_RELEASE,
    "LLaMA went over its Books data about two times (two epochs).",
    2,
    "epochs",
    basis="primary-source",
)
def _():
    m = _llama()
    e = m.get("books", "epochs")
    return e, (
        f"Read from the LLaMA paper's Table 1: {e:.2f} epochs over "
        f"{m.get('books', 'unique_tokens') / 1e9:.1f}B unique tokens, 'about two' at one "
        f"significant digit ({mixtures.repeat_value(e):.0%} of the value of fresh tokens)."
    )


@claims.register(
    "data-llama-rest-once",
    claims.LLAMA_RELEASE,
    "Apart from Wikipedia and Books, LLaMA used each training token only once.",
    1,
    "epochs",
    basis="derived",
)
def _():
    m = _llama()
    rest = [k for k in m.sources if k not in ("wikipedia", "books")]
    idx = [m.sources.index(k) for k in rest]
    mean = float(m.tokens()[idx].sum() / m.unique_tokens()[idx].sum())
    lo = min(rest, key=lambda k: m.get(k, "epochs"))
    within = all(abs(m.get(k, "epochs") - 1) <= 0.5 for k in rest)
    each = "each of them" if within else "their average, though not each of them,"
    return mean, (
        f"From Table 1's weights and epochs: the other sources average {mean:.2f} epochs (their "
        f"tokens trained on over their unique tokens), from {m.get(lo, 'epochs'):.2f} "
        f"({m.labels[m.sources.index(lo)]}, partly unseen) to "
        f"{max(m.get(k, 'epochs') for k in rest):.2f} (CommonCrawl: "
        f"{m.get('common_crawl', 'epochs') - 1:.0%} of it seen twice); {each} is 1 at the "
        "article's one significant digit (1 ± 0.5)."
    )


@claims.register(
    "data-llama-books-177gb",
    claims.LLAMA_RELEASE,
    "LLaMA's books and academic papers (ArXiv, Gutenberg and Books3) total only 177GB, whereas "
    "Gopher, Chinchilla and PaLM trained on up to 2TB of books.",
    177e9,
    "bytes",
    basis="derived",
)
def _():
    m = _llama()
    size = m.get("books", "disk_bytes") + m.get("arxiv", "disk_bytes")
    stated = _p("llama.books_arxiv_bytes")
    others = _p("llama.others_books_bytes")
    share = m.share("books", "arxiv")
    return size, (
        f"Summed from the disk sizes of the LLaMA paper's Table 1: Books "
        f"{m.get('books', 'disk_bytes') / 1e9:.0f} GB + ArXiv {m.get('arxiv', 'disk_bytes') / 1e9:.0f} GB "
        f"= {size / 1e9:.0f} GB, the {stated / 1e9:.0f} GB its Section 3.6 states (where the article "
        f"read it), and {others / size:.0f}× less than the {others / 1e12:.0f} TB the paper credits the "
        f"others with (read from it, not checked); {share:.1%} of LLaMA's training tokens. (The "
        "paper offers this as a possible reason for its MMLU gap; that part is not computable here.)"
    )


# --- 000 (Persian): GPT-4's leak -----------------------------------------------------------


@claims.register(
    "data-gpt4-13t-epochs",
    claims.GPT4_LEAK,
    "GPT-4's 13 trillion training tokens count repeated epochs: two epochs for text data and four for code.",
    None,
    "unique tokens",
    basis="none",
)
def _():
    d = presets.preset("gpt4-reported").train_tokens
    code = _llama().share("github")  # an assumption: LLaMA's code share
    u = _gpt4_unique(code)
    lo, hi = _gpt4_unique(1.0), _gpt4_unique(0.0)
    te, ce = _p("gpt4.text_epochs"), _p("gpt4.code_epochs")
    d_eff = float(
        mixtures.effective_tokens((1 - code) * d, (1 - code) * d / te)
        + mixtures.effective_tokens(code * d, code * d / ce)
    )
    return u, (
        f"Not published by OpenAI. If true, the {d / 1e12:.0f}T tokens come from {lo / 1e12:.2f}T "
        f"(all code) to {hi / 1e12:.1f}T (all text) unique tokens; with LLaMA's code share "
        f"({code:.1%}) {u / 1e12:.2f}T, the computed value shown (an implication, not a check). "
        f"Muennighoff et al.'s law values those {d / 1e12:.0f}T at "
        f"{d_eff / 1e12:.1f}T fresh tokens ({d_eff / d:.0%}): repeating cost little."
    )


@claims.register(
    "data-gpt4-vision-2t",
    claims.GPT4_LEAK,
    "GPT-4's vision model was fine-tuned on about 2 trillion more tokens after text-only pre-training.",
    2e12,
    "tokens",
    basis="none",
)
def _():
    v, d = _p("gpt4.vision_tokens"), presets.preset("gpt4-reported").train_tokens
    return None, (
        f"Not published by OpenAI. If true, {v / 1e12:.0f}T tokens are {v / d:.0%} more on top "
        f"of the {d / 1e12:.0f}T of pre-training."
    )


@claims.register(
    "data-gpt4-instruction-data",
    claims.GPT4_LEAK,
    "OpenAI fine-tuned GPT-4 on millions of rows of instruction data from Scale AI and from inside the company.",
    1e6,
    "rows",
    basis="none",
    bound=">=",  # "millions": at least a million
)
def _():
    return None, "Not published by OpenAI, and no public table of fine-tuning data allows a check."


@claims.register(
    "data-gpt4-sources",
    claims.GPT4_LEAK,
    "CommonCrawl and RefinedWeb make up a large part of GPT-4's training data; the rest is unknown ('secret' data).",
    None,
    "fraction of tokens",
    basis="none",
)
def _():
    m = _llama()
    web = m.share("common_crawl", "c4")
    return None, (
        f"Not published by OpenAI. For comparison, web crawls (CommonCrawl and C4) make "
        f"{web:.0%} of LLaMA's training tokens."
    )


@claims.register(
    "data-gpt4-rumoured-sources",
    claims.GPT4_LEAK,
    "Rumours say GPT-4's data includes Twitter, Reddit and YouTube, LibGen and Sci-Hub, all of "
    "GitHub, and a collection of college textbooks.",
    None,
    "—",
    basis="none",
)
def _():
    m = _llama()
    return None, (
        f"Rumours; nothing public allows a check. For scale, all of LLaMA's GitHub data is "
        f"{m.get('github', 'disk_bytes') / 1e9:.0f} GB, {m.get('github', 'unique_tokens') / 1e9:.0f}B "
        "tokens."
    )


# --- 003 (Arabic): data as a cost driver ---------------------------------------------------


@claims.register(
    "data-cost-drivers",
    claims.COST_SLIMMING,
    "Data, compute and algorithms are the three factors that most determine a large model's cost.",
    None,
    "—",
    basis="none",
    out_of_scope=True,
)
def _():
    m = _llama()
    d = m.total_tokens
    n = counting.param_count(presets.get("llama-65b"))
    return None, (
        "An opinion, not a quantity: which factors matter 'most' has no measure. "
        f"Data does set the compute: at 6·N·D, LLaMA-65B's {d / 1e12:.1f}T tokens "
        f"are {counting.approx_training_flops(n, d):.2g} FLOPs; the price of the data itself "
        "is published for no model here."
    )


@claims.register(
    "data-gpt3-annotators",
    claims.COST_SLIMMING,
    "OpenAI hired PhDs and data-annotation companies such as Scale AI to feed GPT-3 large-scale data sets.",
    None,
    "—",
    basis="none",
)
def _():
    g = _gpt3()
    return None, (
        "Who OpenAI hired is published nowhere for GPT-3. Its paper names no annotators: its "
        f"Table 2.2 ({', '.join(g.labels)}) is crawled and collected text, weights summing to "
        f"{g.weight_sum:.0%} (rounding). Human-labelled data belongs to later fine-tuning, not to this mix."
    )


@claims.register(
    "data-diminishing-returns",
    claims.COST_SLIMMING,
    "Data has a diminishing marginal benefit.",
    True,
    YES_NO,
    basis="derived",
)
def _():
    law = laws.BESIROGLU
    n = counting.param_count(presets.get("chinchilla-70b"))
    d = presets.preset("chinchilla-70b").train_tokens
    gain1 = float(law.loss(n, d / 2) - law.loss(n, d))
    gain2 = float(law.loss(n, d) - law.loss(n, 2 * d))
    e4, e16 = (float(mixtures.epoch_value(k)) for k in (4, 16))
    holds = bool(gain2 < gain1 and e16 < e4 < 1)
    return holds, (
        f"Fresh data: for Chinchilla-70B the refit law gains {gain1:.4f} nats from "
        f"{d / 2e12:.1f}T to {d / 1e12:.1f}T tokens and {gain2:.4f} from there to "
        f"{2 * d / 1e12:.1f}T. Repeated data: the 4th epoch is worth {e4:.2f} of a "
        f"fresh one, the 16th {e16:.2f} (Muennighoff et al.)."
    )


@claims.register(
    "data-chinese-data-gap",
    claims.COST_SLIMMING,
    "Chinese models cost more because Chinese data lags English data in quantity and quality.",
    None,
    "—",
    basis="none",
    out_of_scope=True,
)
def _():
    return None, (
        "A causal judgement, not a quantity: no published mixture or cost here measures Chinese "
        "data or sets it against a model's cost."
    )


@claims.register(
    "data-user-opt-out",
    claims.COST_SLIMMING,
    "OpenAI lets users refuse the use of their chats for training, so it can no longer count on user-feedback data.",
    None,
    "—",
    basis="none",
    out_of_scope=True,
)
def _():
    return None, "A policy and its consequence, not a quantity: nothing the book computes or looks up bears on it."


# --- 004 (Lao): data and its storage -------------------------------------------------------


@claims.register(
    "data-gpt3-sources",
    claims.LIGO_HALF_COST,
    "GPT-3 was trained on Common Crawl, WebText2, Books1, Books2 and Wikipedia, among other sources.",
    True,
    YES_NO,
    basis="primary-source",
)
def _():
    g = _gpt3()
    named = ("common_crawl", "webtext2", "books1", "books2", "wikipedia")
    weights = " + ".join(f"{w:.0%}" for w in g.weights)
    return set(named) <= set(g.sources), (
        "Read from the GPT-3 paper's Table 2.2: all five named sources are in it, which the "
        f"verdict is on. They are also the whole of it (weights {weights} = {g.weight_sum:.0%}, "
        "rounding): the sentence's hedge 'among other sources' is wrong, there are none."
    )


@claims.register(
    "data-storage-costs",
    claims.LIGO_HALF_COST,
    "Collecting, managing and storing the data sets takes major infrastructure investment "
    "(cloud storage, preprocessing, GDPR compliance).",
    None,
    "—",
    basis="none",
    out_of_scope=True,
)
def _():
    raw, kept = _p("gpt3.common_crawl_raw_bytes"), _p("gpt3.common_crawl_disk_bytes")
    llama = float(np.sum(_llama().disk_bytes))
    return None, (
        "An investment, which no one publishes for data; the book can only give sizes: "
        f"GPT-3 filtered {raw / 1e12:.0f} TB of compressed "
        f"Common Crawl down to {kept / 1e9:.0f} GB ({raw / kept:.0f}× less); LLaMA's sources "
        f"total {llama / 1e12:.1f} TB on disk."
    )


@claims.register(
    "data-ligo-datasets",
    claims.LIGO_HALF_COST,
    "The LiGO experiments trained BERT and RoBERTa on English Wikipedia and GPT-2 on C4.",
    True,
    "yes/no",
    basis="primary-source",
)
def _():
    return bool(published.get("ligo.datasets_wikipedia_and_c4").value), (
        "A description of the LiGO paper's setup, and a faithful one: its Section 4 trains BERT "
        "and RoBERTa on English Wikipedia (following Tan and Bansal 2020) and GPT-2 on C4."
    )


exercises.register(
    "data-1",
    lambda: (
        _llama().get("wikipedia", "weights")
        * presets.preset("llama-7b").train_tokens
        / _llama().get("wikipedia", "unique_tokens")
    ),
    rel_tol=0.01,
    unit="epochs",
    hint="The Wikipedia data is the same (U_i from the 1.4T run, U_i = w_i·D / e_i); only D changes: "
    "e = w_i·D_7B / U_i.",
)
exercises.register(
    "data-2",
    lambda: mixtures.effective_tokens(600e9, 60e9),
    rel_tol=0.005,
    unit="tokens",
    hint="Ten epochs are R = 9 repetitions: D' = U + U·R*·(1 − exp(−R/R*)) with R* ≈ 15.39.",
)
exercises.register(
    "data-3",
    lambda: (
        _gpt3().get("common_crawl", "dataset_tokens") * _gpt3().total_tokens / _gpt3().get("common_crawl", "tokens")
    ),
    rel_tol=0.02,
    unit="tokens",
    hint="Set e = 1 in e_i = w_i·D / U_i and solve for D, with w_i the normalised weight 0.60 / 1.01 and U_i = 410B.",
)
exercises.register(
    "data-4",
    lambda: mixtures.epochs_at_marginal_value(0.25),
    rel_tol=0.01,
    unit="epochs",
    hint="D' depends on D through R = D/U − 1; differentiate: dD'/dD = exp(−R/R*). Set it to 1/4: "
    "R = R*·ln 4, and e = 1 + R.",
    kind="derive",
)
exercises.register(
    "data-5",
    lambda: mixtures.epochs_at_value(0.5, r_star=mixtures.MUENNIGHOFF.rd_star / 3),
    rel_tol=0.01,
    unit="epochs",
    hint="Pass r_star=mixtures.MUENNIGHOFF.rd_star / 3 to mixtures.epochs_at_value(0.5, ...), or solve "
    "(1 + R*·(1 − exp(−R/R*))) / (1 + R) = 1/2 with R* divided by three.",
    kind="modify",
)
