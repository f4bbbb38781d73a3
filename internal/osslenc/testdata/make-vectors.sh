#!/bin/sh
# make-vectors.sh regenerates the reference vectors in this directory with
# the system openssl (they were made with OpenSSL 3.0):
#
#	sh make-vectors.sh
#
# Each line of vectors.txt is "FILE LENGTH ARGS...": FILE was made by
#
#	head -c LENGTH plain.txt | openssl enc -e ARGS > FILE
#
# Salts are random, so a new run makes different files; the tests decrypt
# each file and also encrypt again with the salt from its header, expecting
# the same bytes.
set -eu
cd "$(dirname "$0")"
export OPENSSL_CONF=/dev/null

printf 'correct horse battery staple\n' > pw.txt
printf 'secret\r\n' > pw-crlf.txt
awk 'BEGIN { for (i = 0; i < 40; i++) printf "line %02d of the plain text.\n", i }' > plain.txt

rm -f vectors.txt ./*.enc
vector() { # NAME ARGS...
	name=$1
	shift
	for n in $LENGTHS; do
		head -c "$n" plain.txt | openssl enc -e "$@" > "$name-$n.enc" 2>/dev/null
		echo "$name-$n.enc $n $*" >> vectors.txt
	done
}

# The original image's command, and OpenSSL 1.0-era files (-md md5).
LENGTHS="0 1 15 16 17 100"
vector default -aes-256-cbc -pass file:pw.txt
LENGTHS="0 17 100"
vector md5 -aes-256-cbc -md md5 -pass file:pw.txt
vector sha1-128 -aes-128-cbc -md sha1 -pass file:pw.txt
vector pbkdf2 -aes-256-cbc -pbkdf2 -pass file:pw.txt
vector iter-192 -aes-192-cbc -iter 1000 -md sha512 -pass file:pw.txt
vector nosalt-128 -aes-128-cbc -nosalt -pass file:pw.txt
vector nosalt-pbkdf2 -aes-256-cbc -nosalt -iter 7 -pass file:pw.txt
vector fixed-salt -aes-256-cbc -S 0102030405060708 -pass file:pw.txt
vector raw-key -aes-256-cbc -K 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f -iv f0e0d0c0b0a090807060504030201000
vector key-and-pass -aes-128-cbc -K 00112233445566778899aabbccddeeff -pass file:pw.txt
vector crlf -aes-256-cbc -pass file:pw-crlf.txt
LENGTHS="17"
vector pass-arg -aes-256-cbc -pass pass:hunter2
vector aes128-alias -aes128 -pass file:pw.txt
