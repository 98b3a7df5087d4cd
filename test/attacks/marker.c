// marker PATH: the first thing this program does is create PATH. A test that
// finds no PATH after an exec of it knows that none of the program's own code
// ran (e.g. it was killed at exec, before its first instruction).
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) return 255;
  int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return 1;
  close(fd);
  return 0;
}
