/* The host program's terminal prompt: how the dialog plugin's questions
 * that neither the password nor the script answers reach a person.
 *
 * It talks to the controlling terminal (/dev/tty) only, never to standard
 * input (which belongs to the script), and never waits for ever: with no
 * terminal (cron, setsid) it fails at once, and a question nobody answers
 * fails after the prompt timeout. */
#ifndef MYL_HOST_PROMPT_H
#define MYL_HOST_PROMPT_H

#include <lua.h>

/* How long a question waits for its answer unless --prompt-timeout says
 * otherwise, in seconds (at most MYL_PROMPT_TIMEOUT_MAX, core/clientopt.h). */
#define HOST_PROMPT_TIMEOUT 300

/* The longest answer taken, in bytes (a longer one is refused, not cut). */
#define HOST_PROMPT_MAX_ANSWER 4095

/* Stores the terminal prompt, function(prompt, echo, last) -> answer, at
 * MYL_HOST_PROMPT in the registry (src/lua/binding.h), waiting at most
 * `timeout` seconds for each answer.  With no terminal it returns nil and
 * why (the login then fails naming the question, as without a prompt); it
 * raises an error naming the question when asking fails or gets no answer. */
void host_prompt_register(lua_State *L, int timeout);

/* Asks `question` (a space follows it) on the controlling terminal, with
 * or without echo, waiting at most `timeout` seconds, as the dialog
 * questions are asked: the terminal and the signal dispositions are given
 * back whatever happens (a SIGINT then takes its course with echo on).
 * Returns the answer's length, in buf (size bytes, NUL-terminated), or -1
 * with err saying why (no terminal, no answer in time, end of input, an
 * answer too long). */
long host_prompt_ask(const char *question, int echo, int timeout, char *buf, size_t size,
                     char *err, size_t errsz);

#endif
