#include "sluice/window/windows.h"
