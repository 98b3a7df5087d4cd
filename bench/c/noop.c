// The smallest program the exec benchmark runs: exits 0.
int main(void) { return 0; }
