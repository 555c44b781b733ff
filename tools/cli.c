/* Shared command-line helpers: strict number parsing, option values, errors, backend choice. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "tools/cli.h"

const char *prog = "scnn";
int usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "%s %s: ", prog, cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see '%s %s --help')\n", prog, cmd);
    return EXIT_USAGE;
}

int runtime_error(const char *cmd)
{
    fprintf(stderr, "%s %s: error: %s\n", prog, cmd, scnn_last_error());
    return 1;
}

bool is_dataset(const char *s)
{
    return strcmp(s, "fashion_mnist") == 0 || strcmp(s, "mnist") == 0;
}

/* The backend from SCNN_BACKEND; prints the error and returns NULL if it cannot run. */
const scnn_backend *pick_backend(const char *cmd)
{
    char err[512];
    const scnn_backend *b = scnn_backend_select(getenv("SCNN_BACKEND"), err, sizeof err);
    if (!b)
        fprintf(stderr, "%s %s: error: %s\n", prog, cmd, err);
    return b;
}

cli cli_start(const char *cmd, int argc, char **argv)
{
    return (cli){.cmd = cmd, .argc = argc, .argv = argv, .i = 0, .rc = -1};
}

bool cli_next(cli *c)
{
    return c->rc < 0 && ++c->i < c->argc;
}

const char *cli_arg(const cli *c) { return c->argv[c->i]; }

bool cli_help(const cli *c)
{
    return strcmp(cli_arg(c), "--help") == 0 || strcmp(cli_arg(c), "-h") == 0;
}

bool cli_flag(const cli *c, const char *name) { return strcmp(cli_arg(c), name) == 0; }

void cli_fail(cli *c, const char *fmt, const char *arg)
{
    c->rc = usage_error(c->cmd, fmt, arg);
}

void cli_unknown(cli *c) { cli_fail(c, "unknown option '%s'", cli_arg(c)); }

int cli_no_options(const char *cmd, int argc, char **argv, void (*help)(void))
{
    cli c = cli_start(cmd, argc, argv);
    while (cli_next(&c)) {
        if (cli_help(&c)) {
            help();
            return 0;
        }
        cli_unknown(&c);
    }
    return c.rc;
}

/* The value of option name when the argument at hand is it ("--name value" or "--name=value"):
 * true, *v the value (NULL and the error set when missing or empty); false otherwise. */
static bool value_of(cli *c, const char *name, const char **v)
{
    const char *a = cli_arg(c);
    const size_t n = strlen(name);
    if (strncmp(a, name, n) != 0 || (a[n] != '=' && a[n] != 0))
        return false;
    *v = a[n] == '=' ? a + n + 1 : (c->i + 1 < c->argc ? c->argv[++c->i] : NULL);
    if (!*v || !**v) {
        *v = NULL;
        cli_fail(c, "option %s needs a value", name);
    }
    return true;
}

bool cli_str(cli *c, const char *name, const char **v)
{
    const char *s;
    if (!value_of(c, name, &s))
        return false;
    if (s)
        *v = s;
    return true;
}

bool cli_long(cli *c, const char *name, long lo, long hi, long *v)
{
    const char *s;
    if (!value_of(c, name, &s))
        return false;
    if (s && !scnn_parse_long(s, lo, hi, v)) {
        char msg[160];
        if (lo == 1 && hi >= 100000000)
            snprintf(msg, sizeof msg, "%s: expected a positive integer, got '%%s'", name);
        else
            snprintf(msg, sizeof msg, "%s: expected an integer %ld..%ld, got '%%s'", name, lo, hi);
        cli_fail(c, msg, s);
    }
    return true;
}

bool cli_choice(cli *c, const char *name, const char *const *choices, const char **v)
{
    const char *s;
    if (!value_of(c, name, &s))
        return false;
    if (!s)
        return true;
    char msg[200];
    int at = snprintf(msg, sizeof msg, "%s: expected ", name);
    for (int k = 0; choices[k]; k++) {
        if (strcmp(s, choices[k]) == 0) {
            *v = choices[k];
            return true;
        }
        at += snprintf(msg + at, sizeof msg - (size_t)at, "%s%s", k ? (choices[k + 1] ? ", " : " or ") : "",
                       choices[k]);
        if (at >= (int)sizeof msg - 20)
            at = (int)sizeof msg - 20;
    }
    snprintf(msg + at, sizeof msg - (size_t)at, ", got '%%s'");
    cli_fail(c, msg, s);
    return true;
}

bool cli_dataset(cli *c, const char *name, bool all_ok, const char **v)
{
    const char *s;
    if (!value_of(c, name, &s))
        return false;
    if (s && (is_dataset(s) || (all_ok && strcmp(s, "all") == 0)))
        *v = s;
    else if (s)
        cli_fail(c, all_ok ? "unknown dataset '%s' (fashion_mnist, mnist or all)"
                           : "unknown dataset '%s' (fashion_mnist or mnist)", s);
    return true;
}
