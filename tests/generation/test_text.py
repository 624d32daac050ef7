from ragtune.generation.text import collapse_repeats, content_terms, coverage, split_sentences


def test_sentences_join_soft_wraps_and_split_list_items():
    text = ("The audit log records every sign-in and every change of a\nuser's role. It keeps entries.\n\n"
            "Audit logs include:\n\n* Name of the event\n* Actor that triggered it\n1. First step")
    got = [s.text for s in split_sentences(text)]
    assert got == ["The audit log records every sign-in and every change of a\nuser's role.", "It keeps entries.",
                   "Audit logs include:", "Name of the event", "Actor that triggered it", "First step"]
    for s in split_sentences(text):
        assert text[s.start:s.end] == s.text


def test_sentences_keep_decimals_and_paths_together():
    got = [s.text for s in split_sentences("Uptime is 99.95 percent. Edit /etc/nv.conf first. Then restart.")]
    assert got == ["Uptime is 99.95 percent.", "Edit /etc/nv.conf first.", "Then restart."]


def test_content_terms_drop_stop_words_and_stem():
    assert content_terms("The audit log records the sign-ins") == ["audit", "log", "record", "sign", "in"]
    assert coverage(content_terms("audit records"), set(content_terms("the log records audits"))) == 1.0
    assert coverage([], {"x"}) == 0.0


def test_collapse_repeats_cuts_loops_and_repeated_sentences():
    assert collapse_repeats("The port is 8420. 1. 1. 1. 1. 1.") == "The port is 8420. 1."
    assert collapse_repeats("It is 8420. It is 8420. Then stop.") == "It is 8420. Then stop."
    assert collapse_repeats("Port 8420 [1]. Set by NV_LISTEN_PORT [1].") == "Port 8420 [1]. Set by NV_LISTEN_PORT [1]."


def test_a_quoted_table_row_of_repeated_figures_is_not_a_loop():
    row = "Statutory federal income tax rate 21 % 21 % 21 % 21 % [1]. Effective tax rate 14.9 % 17.0 % [2]."
    assert collapse_repeats(row) == row
