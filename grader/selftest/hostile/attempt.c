/*
 * "Not attempted": the tests here all pass when run; which of them the
 * grader reports as not attempted depends on --student/--stub pairs of
 * odd C (attempt-student.src, attempt-stub.src) that hostile.sh passes.
 * A test is not attempted when every function it lists has the stub's
 * body, whitespace and comments aside.
 */
#include "grader.h"

static void passes(void)
{
    CU_ASSERT_TRUE(1);
}

const gr_test gr_public_tests[] = {
    {"same body", 1, 1.0, "f_same", passes},
    {"same modulo comments and spaces", 1, 1.0, "f_respaced", passes},
    {"changed body", 1, 1.0, "f_changed", passes},
    {"changed string literal", 1, 1.0, "f_string", passes},
    {"two same", 1, 1.0, "f_same, f_respaced", passes},
    {"one same one changed", 1, 1.0, "f_same,f_changed", passes},
    {"missing in student", 1, 1.0, "f_deleted", passes},
    {"unknown function", 1, 1.0, "f_nowhere", passes},
    {"braces in strings and comments", 1, 1.0, "f_braces", passes},
    {"after a struct and an initializer", 1, 1.0, "f_after_data", passes},
    {"second pair", 1, 1.0, "g_other", passes},
    {"no functions listed", 1, 1.0, "", passes},
    {"unterminated at end", 1, 1.0, "f_last", passes},
    {NULL, 0, 0, NULL, NULL},
};
