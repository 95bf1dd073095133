#!/usr/bin/perl
# WebSocket targets for App Traffic, served with core Perl only (no binary download at workspace start):
#   echo    (app wsec): every data frame is sent back unchanged
#   random  (app wsra): random binary frames are streamed to the client
#   discard (app wsdi): data frames are read and dropped
# Usage: perl ws-apps.pl echo|random|discard PORT   (PORT 0 picks a free port; the port is printed)
use strict;
use warnings;
use IO::Select;
use IO::Socket::INET;
use Digest::SHA qw(sha1);
use MIME::Base64 qw(encode_base64);

my ($mode, $port) = @ARGV;
die "usage: ws-apps.pl echo|random|discard PORT\n"
  unless defined $port && $mode =~ /^(echo|random|discard)$/ && $port =~ /^\d+$/;

$| = 1;
$SIG{CHLD} = 'IGNORE';    # children are reaped automatically
$SIG{PIPE} = 'IGNORE';    # a vanished client is a failed write, not a dead server

my $server = IO::Socket::INET->new(
  LocalAddr => '127.0.0.1',
  LocalPort => $port,
  Listen    => 128,
  ReuseAddr => 1,
) or die "ws-apps: listen on 127.0.0.1:$port: $!\n";
print "ws-apps $mode listening on 127.0.0.1:", $server->sockport, "\n";

while (1) {
  my $client = $server->accept or next;
  my $pid = fork;
  if (!defined $pid) { close $client; next; }
  if ($pid == 0) {
    close $server;
    serve($client);
    exit 0;
  }
  close $client;
}

sub writeall {
  my ($c, $data) = @_;
  while (length $data) {
    my $n = syswrite($c, $data);
    return 0 unless defined $n && $n > 0;
    substr($data, 0, $n, '');
  }
  return 1;
}

# Server frames are never masked. $b0 carries FIN and the opcode.
sub frame {
  my ($b0, $data) = @_;
  my $len = length $data;
  my $head = pack 'C', $b0;
  if    ($len < 126)   { $head .= pack 'C', $len }
  elsif ($len < 65536) { $head .= pack 'Cn', 126, $len }
  else                 { $head .= pack 'CNN', 127, int($len / 4294967296), $len % 4294967296 }
  return $head . $data;
}

# Takes one complete frame off the front of $$buf: (fin, opcode, payload), or () when more bytes are needed.
sub parse_frame {
  my ($buf) = @_;
  return () if length $$buf < 2;
  my ($b0, $b1) = unpack 'CC', $$buf;
  my ($len, $off) = ($b1 & 0x7f, 2);
  if ($len == 126) {
    return () if length $$buf < 4;
    $len = unpack 'n', substr($$buf, 2, 2);
    $off = 4;
  } elsif ($len == 127) {
    return () if length $$buf < 10;
    my ($hi, $lo) = unpack 'NN', substr($$buf, 2, 8);
    $len = $hi * 4294967296 + $lo;
    $off = 10;
  }
  my $mask = '';
  if ($b1 & 0x80) {
    return () if length $$buf < $off + 4;
    $mask = substr($$buf, $off, 4);
    $off += 4;
  }
  return () if length $$buf < $off + $len;
  my $payload = substr($$buf, $off, $len);
  substr($$buf, 0, $off + $len, '');
  $payload ^= substr($mask x (int($len / 4) + 1), 0, $len) if length $mask;
  return ($b0 & 0x80, $b0 & 0x0f, $payload);
}

# Answers control frames; returns 0 when the connection is done, 1 to go on, 2 for a data frame.
sub control {
  my ($c, $op, $data) = @_;
  if ($op == 8) { writeall($c, frame(0x88, substr($data, 0, 2))); return 0; }
  if ($op == 9) { return writeall($c, frame(0x8a, $data)) ? 1 : 0; }
  return 1 if $op == 10;
  return 2;
}

sub serve {
  my ($c) = @_;
  binmode $c;
  my $req = '';
  while ($req !~ /\r\n\r\n/) {
    my $n = sysread($c, $req, 4096, length $req);
    return unless $n;
    return if length $req > 65536;
  }
  my ($head, $rest) = split /\r\n\r\n/, $req, 2;
  my ($key) = $head =~ /^Sec-WebSocket-Key:[ \t]*(\S+)/mi;
  if (!$key || $head !~ /^Upgrade:[ \t]*websocket/mi) {
    my $body = "ws-apps $mode: connect with a WebSocket\n";
    writeall($c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body");
    return;
  }
  my $accept = encode_base64(sha1($key . '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'), '');
  writeall($c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: $accept\r\n\r\n") or return;
  my $buf = defined $rest ? $rest : '';
  return $mode eq 'random' ? stream_random($c, $buf) : read_frames($c, $buf);
}

sub read_frames {
  my ($c, $buf) = @_;
  while (1) {
    while (my ($fin, $op, $data) = parse_frame(\$buf)) {
      my $next = control($c, $op, $data);
      return if $next == 0;
      next if $next == 1 || $mode eq 'discard';
      writeall($c, frame(($fin ? 0x80 : 0) | $op, $data)) or return;
    }
    my $n = sysread($c, $buf, 65536, length $buf);
    return unless $n;
  }
}

sub stream_random {
  my ($c, $buf) = @_;
  my $sel = IO::Select->new($c);
  open my $rnd, '<:raw', '/dev/urandom' or return;
  while (1) {
    if ($sel->can_read(0)) {
      my $n = sysread($c, $buf, 65536, length $buf);
      return unless $n;
      while (my ($fin, $op, $data) = parse_frame(\$buf)) {
        return if control($c, $op, $data) == 0;
      }
    }
    my $chunk;
    sysread($rnd, $chunk, 4096) or return;
    writeall($c, frame(0x82, $chunk)) or return;
  }
}
