int device_placeholder(void); int device_placeholder(void) { return 0; }
