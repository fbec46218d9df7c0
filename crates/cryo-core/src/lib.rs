//! Domain types of CryoProtect, parsed once at the edge. No I/O.
