/* The operations of one request (rk_plan.h): noted in order while the
 * handler gathers, taken in the same order while it answers. */
#include <stdio.h>
#include <string.h>

#include "msg.h"
#include "mymalloc.h"
#include "printable.h"
#include "rk_plan.h"
#include "rk_state.h"

RK_PLAN *
rk_plan_create(void)
{
    RK_PLAN *plan = mycalloc(1, sizeof(*plan));

    plan->phase = RK_PLAN_GATHER;
    return plan;
}

RK_PLAN *
rk_plan_free(RK_PLAN *plan)
{
    int i;

    if (plan) {
        for (i = 0; i < plan->nops; i++) {
            myfree(plan->ops[i].key);
            myfree(plan->ops[i].entries);
        }
        myfree(plan->ops);
        myfree(plan);
    }
    return NULL;
}

RK_PLAN_OP *
rk_plan_note(RK_PLAN *plan, RK_PLAN_KIND kind, const char *counter,
             const char *key)
{
    RK_PLAN_OP *op;

    if (plan->phase != RK_PLAN_GATHER)
        msg_panic("rk_plan_note: not gathering");
    if (plan->nops == plan->cap) {
        plan->cap = plan->cap ? plan->cap * 2 : 2;
        plan->ops = myrealloc(plan->ops, (size_t) plan->cap * sizeof(*op));
    }
    op = &plan->ops[plan->nops++];
    memset(op, 0, sizeof(*op));
    op->kind = kind;
    snprintf(op->counter, sizeof(op->counter), "%s", counter ? counter : "");
    op->key = mystrdup(key ? key : "");
    return op;
}

void
rk_plan_answer(RK_PLAN *plan)
{
    plan->phase = RK_PLAN_ANSWER;
    plan->next = 0;
}

RK_PLAN_OP *
rk_plan_take(RK_PLAN *plan, RK_PLAN_KIND kind, const char *counter,
             const char *key)
{
    RK_PLAN_OP *op;

    if (plan->phase != RK_PLAN_ANSWER)
        msg_panic("rk_plan_take: not answering");
    if (plan->next >= plan->nops)
        op = NULL;
    else
        op = &plan->ops[plan->next++];
    if (op == NULL || op->kind != kind
        || strcmp(op->counter, counter ? counter : "") != 0
        || strcmp(op->key, key ? key : "") != 0) {
        if (plan->mismatches++ == 0)
            msg_warn("request answered from memory: operation %d (%s %s) "
                     "was not planned", plan->next, counter ? counter : "",
                     printable_str(key ? key : ""));
        /* Nothing after a mismatch can be trusted to line up. */
        plan->next = plan->nops;
        return NULL;
    }
    return op->answered ? op : NULL;
}

unsigned long
rk_plan_count(RK_PLAN *plan, RK_PLAN_KIND kind, const char *counter,
              const char *key, unsigned long local)
{
    RK_PLAN_OP *op = rk_plan_take(plan, kind, counter, key);

    return op ? op->count : local;
}

void
rk_plan_set_entries(RK_PLAN_OP *op, RK_STATE_ENTRY *entries, int n)
{
    myfree(op->entries);
    op->entries = entries;
    op->nentries = n;
    op->answered = 1;
}

int
rk_plan_releases_only(const RK_PLAN *plan)
{
    int i;

    for (i = 0; i < plan->nops; i++)
        if (plan->ops[i].kind != RK_PLAN_CONN || plan->ops[i].delta >= 0)
            return 0;
    return plan->nops > 0;
}
