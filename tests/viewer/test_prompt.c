/*
 * tests/viewer/test_prompt.c — the shell-like line editor of the prompts
 * (viewer/prompt.c) and the folding of C++ names (viewer/cxxname.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "viewer/cxxname.h"
#include "viewer/prompt.h"

static void type(ig_line_edit *e, const ig_history *h, const char *s)
{
    for (; *s; s++)
        ig_line_edit_key(e, h, (unsigned char)*s);
}

static void test_cursor_moves_and_inserts(void **state)
{
    (void)state;
    ig_line_edit e;
    ig_line_edit_begin(&e, NULL, NULL);
    type(&e, NULL, "main.c");
    assert_int_equal(e.cursor, 6);
    ig_line_edit_key(&e, NULL, IG_KEY_HOME);
    type(&e, NULL, "^");
    assert_string_equal(e.text, "^main.c");
    ig_line_edit_key(&e, NULL, IG_KEY_END);
    type(&e, NULL, "$");
    assert_string_equal(e.text, "^main.c$");
    for (int i = 0; i < 3; i++)
        ig_line_edit_key(&e, NULL, IG_KEY_LEFT);
    type(&e, NULL, "x");
    assert_string_equal(e.text, "^mainx.c$");
    ig_line_edit_key(&e, NULL, IG_KEY_BACKSPACE);
    assert_string_equal(e.text, "^main.c$");
    ig_line_edit_key(&e, NULL, IG_KEY_DELETE); /* under the cursor: the dot */
    assert_string_equal(e.text, "^mainc$");
    ig_line_edit_key(&e, NULL, IG_KEY_CTRL_A);
    assert_int_equal(e.cursor, 0);
    ig_line_edit_key(&e, NULL, IG_KEY_CTRL_E);
    assert_int_equal(e.cursor, e.len);
    ig_line_edit_key(&e, NULL, IG_KEY_RIGHT); /* at the end: stays */
    assert_int_equal(e.cursor, e.len);
    assert_int_equal(ig_line_edit_key(&e, NULL, IG_KEY_ENTER), IG_EDIT_SUBMIT);
    assert_int_equal(ig_line_edit_key(&e, NULL, IG_KEY_ESC), IG_EDIT_CANCEL);
}

static void test_kill_keys(void **state)
{
    (void)state;
    ig_line_edit e;
    ig_line_edit_begin(&e, NULL, NULL);
    type(&e, NULL, "alpha beta gamma");
    ig_line_edit_key(&e, NULL, IG_KEY_CTRL_W);
    assert_string_equal(e.text, "alpha beta ");
    ig_line_edit_key(&e, NULL, IG_KEY_CTRL_W); /* the space, then the word */
    assert_string_equal(e.text, "alpha ");
    for (int i = 0; i < 3; i++)
        ig_line_edit_key(&e, NULL, IG_KEY_LEFT);
    ig_line_edit_key(&e, NULL, IG_KEY_CTRL_K);
    assert_string_equal(e.text, "alp");
    ig_line_edit_key(&e, NULL, IG_KEY_LEFT);
    ig_line_edit_key(&e, NULL, IG_KEY_CTRL_U);
    assert_string_equal(e.text, "p");
    assert_int_equal(e.cursor, 0);
    /* Ctrl-H is a backspace, Ctrl-D a delete */
    ig_line_edit_key(&e, NULL, IG_KEY_CTRL_D);
    assert_string_equal(e.text, "");
    assert_int_equal(ig_line_edit_key(&e, NULL, IG_KEY_CTRL_H), IG_EDIT_NONE);
}

static void test_utf8_is_one_character(void **state)
{
    (void)state;
    ig_line_edit e;
    ig_line_edit_begin(&e, NULL, NULL);
    type(&e, NULL, "caf\xc3\xa9!");
    ig_line_edit_key(&e, NULL, IG_KEY_LEFT);
    ig_line_edit_key(&e, NULL, IG_KEY_LEFT); /* before é, not inside it */
    assert_int_equal(e.cursor, 3);
    ig_line_edit_key(&e, NULL, IG_KEY_DELETE);
    assert_string_equal(e.text, "caf!");
    type(&e, NULL, "\xc3\xa8");
    assert_string_equal(e.text, "caf\xc3\xa8!");
    ig_line_edit_key(&e, NULL, IG_KEY_BACKSPACE);
    assert_string_equal(e.text, "caf!");
    assert_int_equal(ig_line_edit_columns("caf\xc3\xa9", 5), 4);
    /* the line is bounded; a full line takes no more */
    ig_line_edit_begin(&e, NULL, NULL);
    for (int i = 0; i < 2 * IG_PROMPT_MAX; i++)
        ig_line_edit_key(&e, NULL, 'a');
    assert_int_equal(e.len, IG_PROMPT_MAX - 1);
}

static void test_prefilled_value_is_replaced(void **state)
{
    (void)state;
    ig_line_edit e;
    ig_line_edit_begin(&e, "ignis-view.svg", NULL);
    assert_true(e.selected);
    type(&e, NULL, "o"); /* one key replaces the whole value */
    assert_string_equal(e.text, "o");
    ig_line_edit_begin(&e, "^old$", NULL);
    assert_int_equal(ig_line_edit_key(&e, NULL, IG_KEY_BACKSPACE), IG_EDIT_CHANGED);
    assert_string_equal(e.text, ""); /* Backspace clears it */
    ig_line_edit_begin(&e, "^old$", NULL);
    ig_line_edit_key(&e, NULL, IG_KEY_LEFT); /* a motion keeps it for editing */
    assert_false(e.selected);
    type(&e, NULL, "x");
    assert_string_equal(e.text, "^oldx$");
}

static void test_history(void **state)
{
    (void)state;
    ig_history h = {{0}, 0};
    ig_history_add(&h, "first");
    ig_history_add(&h, "second");
    ig_history_add(&h, "second"); /* the same twice is kept once */
    ig_history_add(&h, "");
    assert_int_equal(h.n, 2);
    ig_line_edit e;
    ig_line_edit_begin(&e, NULL, &h);
    type(&e, &h, "typ");
    ig_line_edit_key(&e, &h, IG_KEY_UP);
    assert_string_equal(e.text, "second");
    ig_line_edit_key(&e, &h, IG_KEY_UP);
    assert_string_equal(e.text, "first");
    ig_line_edit_key(&e, &h, IG_KEY_UP); /* the oldest: stays */
    assert_string_equal(e.text, "first");
    ig_line_edit_key(&e, &h, IG_KEY_DOWN);
    ig_line_edit_key(&e, &h, IG_KEY_DOWN); /* back to what was being typed */
    assert_string_equal(e.text, "typ");
    for (int i = 0; i < IG_HISTORY_MAX + 5; i++) {
        char buf[16];
        snprintf(buf, sizeof buf, "e%d", i);
        ig_history_add(&h, buf);
    }
    assert_int_equal(h.n, IG_HISTORY_MAX);
    assert_string_equal(h.items[h.n - 1], "e54");
    ig_history_free(&h);
}

static void check_short(const char *in, const char *want)
{
    char buf[256];
    assert_string_equal(ig_short_name(in, buf, sizeof buf, 0), want);
}

static void test_short_cxx_names(void **state)
{
    (void)state;
    check_short("std::vector<int, std::allocator<int> >::push_back(int const&)", "std::vector<..>::push_back(..)");
    check_short("main", "main");
    check_short("foo()", "foo()");
    check_short("(anonymous namespace)::worker(int)", "(anonymous namespace)::worker(..)");
    check_short("ns::Foo<Bar>::operator()(int) const", "ns::Foo<..>::operator()(..) const");
    check_short("bool operator< <int>(Foo const&, Foo const&)", "bool operator< <..>(..)");
    check_short("ns::f(int)::{lambda(int)#1}::operator()(int) const", "ns::f(..)::{lambda(int)#1}::operator()(..) const");
    check_short("std::function<void (int)>::operator()(int) const", "std::function<..>::operator()(..) const");
    check_short("unbalanced<int", "unbalanced<..>");
    check_short("hot hot.cc:12", "hot hot.cc:12");
    char buf[256];
    assert_string_equal(ig_short_name("a<b>", buf, sizeof buf, 1), "a<\xe2\x80\xa6>");
    /* cut to the buffer on a code point boundary */
    char small[5];
    assert_string_equal(ig_short_name("x<int>", small, sizeof small, 1), "x<");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cursor_moves_and_inserts),
        cmocka_unit_test(test_kill_keys),
        cmocka_unit_test(test_utf8_is_one_character),
        cmocka_unit_test(test_prefilled_value_is_replaced),
        cmocka_unit_test(test_history),
        cmocka_unit_test(test_short_cxx_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
