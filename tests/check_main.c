/*
 * check_main.c — runs every Check suite in one runner.
 *
 * Suites are weak references so that a suite file can be added without
 * touching this one. CK_FORK=no (the Valgrind targets) runs them all in
 * one process. Exit status: 0 when every test passed.
 */
#include <stdio.h>
#include <stdlib.h>

#include "test_util.h"

#pragma weak suite_create_args
#pragma weak suite_basic
#pragma weak suite_timed
#pragma weak suite_deadline
#pragma weak suite_batch
#pragma weak suite_close
#pragma weak suite_cancel
#pragma weak suite_stress
#pragma weak suite_driver
#pragma weak suite_fib
#pragma weak suite_batchwait
#pragma weak suite_abort
#pragma weak suite_resize
#pragma weak suite_pollfd
#pragma weak suite_shared
#pragma weak suite_shm_kill

int main(void)
{
    Suite *(*const suites[])(void) = {
        suite_create_args, suite_basic, suite_timed, suite_deadline, suite_batch,
        suite_close,       suite_cancel, suite_stress, suite_driver,
        suite_fib,         suite_batchwait, suite_abort, suite_resize, suite_pollfd,
        suite_shared,      suite_shm_kill,
    };
    SRunner *sr = NULL;
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++) {
        if (suites[i] == NULL)
            continue;
        if (sr == NULL)
            sr = srunner_create(suites[i]());
        else
            srunner_add_suite(sr, suites[i]());
    }
    if (sr == NULL) {
        fprintf(stderr, "no test suites linked\n");
        return EXIT_FAILURE;
    }
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
