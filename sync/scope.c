/* weft — the task-set scope behind WEFT_TASKSET_SCOPE (include/weft/scope.h). The
 * deadline scopes are macros over weft_timeout_enter/exit (runtime/timer.c). */
#include "runtime/internal.h"

weft_taskset_scope weft_taskset_scope_enter(int *status, bool cancel)
{
    weft_taskset_scope s = {.set = weft_set_new_group(), .status = status, .cancel = cancel};
    if (!s.set && status)
        *status = -ENOMEM;
    return s;
}

void weft_taskset_scope_exit(weft_taskset_scope *s)
{
    if (!s->set)
        return;
    if (s->cancel)
        weft_set_cancel(s->set);
    /* A group: members that end cancelled are not failures, so a cancelled scope
     * reports 0 unless a member failed or the caller was interrupted. */
    int rc = weft_set_join_all(s->set);
    (void)weft_set_free(s->set);
    s->set = NULL;
    if (s->status)
        *s->status = rc;
}
