/* weft — a multi-core, work-stealing async runtime for C.
 * One umbrella header over the module headers in weft/. */
#ifndef WEFT_H
#define WEFT_H

#include "weft/chan.h"
#include "weft/common.h"
#include "weft/gen.h"
#include "weft/http.h"
#include "weft/io.h"
#include "weft/net.h"
#include "weft/runtime.h"
#include "weft/scope.h"
#include "weft/select.h"
#include "weft/sync.h"
#include "weft/task.h"
#include "weft/time.h"
#include "weft/trace.h"

#endif
