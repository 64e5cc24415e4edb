/*
 * core.h — the decision core: what a device is offered, and why.
 *
 *   catalog.h   projects, firmware, packages, files as loaded from the store
 *   snapshot.h  an immutable, reference-counted view of the catalog with
 *               indexes; swapped whole after every admin write, read without
 *               locks by the device protocols
 *   rules.h     rules_decide: the ONE decision function every device
 *               protocol asks (pure: no I/O, no clock, no locks)
 *   devtab.h    the in-memory device table (striped locks), the state the
 *               rules read and update; persisted by the writer
 *   version.h   LuatOS versions (CORE.X.Z) and their comparison
 *
 * Nothing here does I/O: the protocols (proto/) feed it, the store (store/)
 * persists what it decides.
 */
#ifndef OPENFOTA_SERVER_CORE_H
#define OPENFOTA_SERVER_CORE_H

#include "catalog.h"
#include "devtab.h"
#include "rules.h"
#include "snapshot.h"
#include "version.h"

#endif
