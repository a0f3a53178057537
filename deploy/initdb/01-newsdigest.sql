CREATE DATABASE newsdigest;
