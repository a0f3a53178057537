"""Pure text functions of newsdigest: cleaning, language, grouping, summarizing, rendering.

Nothing in this package imports Prefect or touches the network or the database.

The public API (what ``flows/``, ``storage/``, the command line and ``bench/`` may import;
names starting with ``_`` are private to their module, and modules with ``__all__`` list
exactly what they export):

- ``digest.settings``: ``Settings``, ``get_settings`` (every ``NEWSDIGEST_*`` variable);
- ``digest.errors``: ``NewsdigestError`` and its kinds ``ConfigError``, ``SourceError``,
  ``DatabaseError``, ``OutputError``, ``InputFormatError`` (errors a user can fix);
- ``digest.models``: ``Article``, ``Doc``, ``SummarySentence`` (data between stages);
- ``digest.formats``: the file formats A, C, S and the stored summary (``parse_article``,
  ``article_record``, ``parse_cluster``, ``story_record``, ``read_jsonl``, ``write_jsonl``,
  ``dump_summary``, ``load_summary``, ...);
- ``digest.extract``: ``extract_html``, ``Extracted``, ``word_count`` (HTML to article);
- ``digest.prepare``: ``prepare_article``, ``ArticleRejected``, ``content_hash``,
  ``title_from_plain_text``, ``outlet_from_url`` (a loaded article made storable);
- ``digest.clean``: ``clean_text``, ``drop_repeated_lines`` (site debris removed);
- ``digest.rules``: every cleaning rule as data (``rules_for``, ``find_dateline``,
  ``paragraph_rules``, ``sentence_rules``; the TOML files beside it);
- ``digest.text``: the text core (``fold``, ``words``, ``terms``, ``stop_words``, ``stemmer``,
  ``term_map``, ``story_terms``, ``tfidf_matrix``, ``normalized_rows``); ``digest.lang``:
  ``detect_language``, ``word_count`` (and the core's names re-exported);
- ``digest.dates``: ``parse_date``, ``find_date_in_text``, ``is_date_line``;
- ``digest.urls``: ``canonicalize_url``, ``canonical_url``, ``same_site``;
- ``digest.grouping``: ``StoryGrouper``, ``cluster_articles``, ``DEFAULT_PARAMS``
  (articles into stories);
- ``digest.summarize``: ``summarize``, ``choose_headline``, ``METHODS``, ``SummaryParams``
  and its stages (``__all__``: units, relevance, concepts, coverage, selection) for the
  bench and the tests; ``digest.sentences``: ``split_sentences``;
- ``digest.validate``: ``validate_article``, ``RecordRejected``, ``sane_date``,
  ``check_date``, ``http_url``, ``clean_chars``, ``one_line``, ``cap_chars``, ``safe_label``
  (values from outside checked and normalised at the boundary); ``digest.files``:
  ``atomic_write_text``;
- ``digest.render``: ``DigestView`` and its parts, ``render_markdown``, ``render_html``,
  ``render_text``, ``render_json``; ``digest.email``: ``build_message``.
"""
