"""The five source articles: one record each, found by key or by file, and named on the book's page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from llmscale import articles

ROOT = Path(__file__).resolve().parents[1]
SEEDS = Path(__file__).parents[2] / "shared" / "seeds"
PAGE = ROOT / "book" / "articles.md"


def test_every_seed_file_has_exactly_one_article_in_the_seeds_order():
    if not SEEDS.is_dir():
        pytest.skip(f"the seed articles are not here ({SEEDS} is absent), so the files cannot be matched")
    seeds = sorted(p.name for p in SEEDS.glob("*.txt"))
    assert seeds, f"no seed texts in {SEEDS}"
    files = [a.file for a in articles.ARTICLES]
    assert files == seeds


def test_the_claims_ledger_and_the_articles_name_the_same_five_files():
    from llmscale import claims

    assert tuple(a.file for a in articles.ARTICLES) == claims.SEEDS


def test_keys_and_files_are_unique():
    keys = [a.key for a in articles.ARTICLES]
    files = [a.file for a in articles.ARTICLES]
    assert len(set(keys)) == len(keys) == 5
    assert len(set(files)) == len(files) == 5
    assert articles.by_file == {a.file: a for a in articles.ARTICLES}
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", k) for k in keys), keys


def test_get_finds_an_article_by_key_and_by_file():
    for article in articles.ARTICLES:
        assert articles.get(article.key) is article
        assert articles.get(article.file) is article


@pytest.mark.parametrize("wrong", ["gpt-4-leak", "000", "000_4ec7ba283c4a0447", "", "GPT4-LEAK"])
def test_get_rejects_anything_else_and_names_the_valid_choices(wrong):
    with pytest.raises(ValueError, match="gpt4-leak.*ligo-half-cost.*000_4ec7ba283c4a0447.txt"):
        articles.get(wrong)


def test_every_article_is_examined_by_known_chapters_in_the_books_order():
    for article in articles.ARTICLES:
        assert article.chapters, article.key
        assert set(article.chapters) <= set(articles.CHAPTERS), article.chapters
        assert list(article.chapters) == sorted(article.chapters, key=articles.CHAPTERS.index)
        assert "scaling" in article.chapters  # every article prompted a page of the first chapter


def test_dates_are_iso_or_undated_with_a_lower_bound():
    for article in articles.ARTICLES:
        if article.dated:
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", article.date), article.date
        else:
            assert article.date.startswith("undated, not before "), article.date


def test_names_carry_outlet_english_title_and_date():
    leak = articles.get("gpt4-leak")
    assert leak.name == (
        "Metaverse Post (Persian), \"GPT-4's leaked details shed light on its massive scale and "
        'impressive architecture", 11 July 2023'
    )
    assert leak.short == "the GPT-4 leak article (Metaverse Post, July 2023)"
    assert articles.get("gpt-growth").short == "the GPT growth article (Learn AI 不 BI, undated)"
    for article in articles.ARTICLES:
        assert article.outlet in article.name and article.title_en in article.name
        assert article.outlet in article.short


def test_urls_are_absent_unless_the_text_prints_them():
    # No article prints its own address; a URL here would have been looked up, which the book does not do.
    if not SEEDS.is_dir():
        pytest.skip(f"the seed articles are not here ({SEEDS} is absent)")
    for article in articles.ARTICLES:
        if article.url is not None:
            assert article.url in (SEEDS / article.file).read_text(), article.key


def test_original_titles_and_authors_are_printed_in_the_texts():
    if not SEEDS.is_dir():
        pytest.skip(f"the seed articles are not here ({SEEDS} is absent)")
    for article in articles.ARTICLES:
        text = (SEEDS / article.file).read_text()
        assert article.title in text, article.key
        if article.author is not None:  # 000 prints the surname in Persian script only
            assert article.author.split()[0] in text, article.key


def test_the_articles_page_names_every_articles_outlet_english_title_and_file():
    source = PAGE.read_text()
    assert source.startswith("(articles)=\n"), "the page's label comes first, for {ref}`articles`"
    page = " ".join(source.split())  # prose wraps, so names are compared with single spaces
    for article in articles.ARTICLES:
        assert article.outlet in page, article.key
        assert article.title_en in page, article.key
        assert article.title in page, article.key
        assert f"shared/seeds/{article.file}" in page, article.key
        assert f"({'articles-' + article.key})=" in page, article.key


def test_the_articles_page_cites_no_bibliography_entry():
    assert "{cite}" not in PAGE.read_text()
